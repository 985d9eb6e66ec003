"""Background jobs on the embedded engine: claimed and updated through the writer,
so a claim and the progress that follows are serialised with everything else."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson

from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Job, Page
from kith.storage.ports.jobs import job_document, job_from_row
from kith.storage.sqlite.core import SQLiteCore, text

_COLUMNS = "id, kind, status, key, created, owner, lease_until, doc"


def _start(conn: sqlite3.Connection, row: tuple[Any, ...], owner: str, lease: float) -> Job:
    """Mark the job of `row` running for `owner` until `lease` seconds from now."""
    job = _job(row)
    job.status, job.owner, job.lease_until = "running", owner, time.time() + lease
    conn.execute(
        "UPDATE jobs SET status = 'running', owner = ?, lease_until = ? WHERE id = ?",
        (owner, job.lease_until, job.id),
    )
    return job


def _job(row: tuple[Any, ...]) -> Job:
    return job_from_row(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], orjson.loads(row[7])
    )


class SQLiteJobs:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def create(self, job: Job) -> Job:
        def work(conn: sqlite3.Connection) -> Job:
            if job.key is not None:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE key = ? AND status IN"
                    " ('queued', 'running') ORDER BY created LIMIT 1",
                    (job.key,),
                ).fetchone()
                if row is not None:
                    return _job(row)
            conn.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    job.kind,
                    job.status,
                    job.key,
                    job.created,
                    job.owner,
                    job.lease_until,
                    text(job_document(job)),
                ),
            )
            return job

        return await self._core.writer.submit(work)

    async def get(self, job_id: str) -> Job | None:
        row = self._core.hot.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        return _job(row) if row else None

    async def latest(self, key: str) -> Job | None:
        row = self._core.hot.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE key = ? ORDER BY created DESC LIMIT 1", (key,)
        ).fetchone()
        return _job(row) if row else None

    async def counts(self) -> dict[tuple[str, str], int]:
        def query(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(
                "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status"
            ).fetchall()

        rows = await self._core.read(query)
        return {(str(kind), str(status)): int(n) for kind, status, n in rows}

    async def page(self, cursor: str | None, limit: int, kind: str | None) -> Page[Job]:
        after = decode_cursor(cursor, 2) if cursor else None

        def query(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            clauses, args = [], []
            if kind is not None:
                clauses.append("kind = ?")
                args.append(kind)
            if after is not None:
                clauses.append("(created, id) < (?, ?)")
                args += after
            where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
            return conn.execute(
                f"SELECT {_COLUMNS} FROM jobs{where} ORDER BY created DESC, id DESC LIMIT ?",
                [*args, limit + 1],
            ).fetchall()

        rows = await self._core.read(query)
        more = len(rows) > limit
        jobs = [_job(row) for row in rows[:limit]]
        return Page(jobs, encode_cursor(jobs[-1].created, jobs[-1].id) if more else None)

    async def claim(self, owner: str, kinds: list[str], lease: float) -> Job | None:
        if not kinds:
            return None
        marks = ",".join("?" * len(kinds))
        claimable = (
            f"SELECT {_COLUMNS} FROM jobs WHERE kind IN ({marks}) AND (status = 'queued'"
            " OR (status = 'running' AND lease_until < ?)) ORDER BY created, id LIMIT 1"
        )
        # looked for on the read connection first: an idle poll writes nothing
        if self._core.hot.execute(claimable, (*kinds, time.time())).fetchone() is None:
            return None

        def work(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(claimable, (*kinds, time.time())).fetchone()
            return None if row is None else _start(conn, row, owner, lease)

        return await self._core.writer.submit(work)

    async def take(self, job_id: str, owner: str, lease: float) -> Job | None:
        def work(conn: sqlite3.Connection) -> Job | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND status IN ('queued', 'running')",
                (job_id,),
            ).fetchone()
            return None if row is None else _start(conn, row, owner, lease)

        return await self._core.writer.submit(work)

    async def progress(self, job: Job, lease: float) -> bool:
        doc = text(job_document(job))

        def work(conn: sqlite3.Connection) -> bool:
            until = time.time() + lease
            updated = conn.execute(
                "UPDATE jobs SET doc = ?, lease_until = ? WHERE id = ? AND owner = ?"
                " AND status = 'running'",
                (doc, until, job.id, job.owner),
            ).rowcount
            if updated:
                job.lease_until = until
            return updated > 0

        return await self._core.writer.submit(work)

    async def finish(self, job: Job) -> None:
        doc = text(job_document(job))
        await self._core.writer.submit(
            lambda conn: conn.execute(
                "UPDATE jobs SET status = ?, doc = ?, lease_until = 0 WHERE id = ?",
                (job.status, doc, job.id),
            )
        )
