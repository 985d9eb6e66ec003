"""Background jobs on PostgreSQL, claimed across processes with `FOR UPDATE SKIP
LOCKED`; leases use the database's clock."""

from __future__ import annotations

from typing import Any

import asyncpg

from kith.storage.cursor import decode_cursor, encode_cursor
from kith.storage.ports import Job, Page
from kith.storage.ports.jobs import job_document, job_from_row
from kith.storage.postgres.core import PgCore

_COLUMNS = "id, kind, status, key, created, owner, lease_until, doc"
_NOW = "extract(epoch FROM clock_timestamp())"


def _job(row: asyncpg.Record) -> Job:
    return job_from_row(row[0], row[1], row[2], row[3], row[4], row[5], float(row[6]), row[7])


class PgJobs:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def create(self, job: Job) -> Job:
        async with self._core.pool.acquire() as conn, conn.transaction():
            if job.key is not None:
                # one job per key: serialise creators of the same key
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", job.key)
                row = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM jobs WHERE key = $1 AND status IN"
                    " ('queued', 'running') ORDER BY created LIMIT 1",
                    job.key,
                )
                if row is not None:
                    return _job(row)
            await conn.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                job.id,
                job.kind,
                job.status,
                job.key,
                job.created,
                job.owner,
                job.lease_until,
                job_document(job),
            )
        return job

    async def get(self, job_id: str) -> Job | None:
        row = await self._core.pool.fetchrow(f"SELECT {_COLUMNS} FROM jobs WHERE id = $1", job_id)
        return _job(row) if row else None

    async def latest(self, key: str) -> Job | None:
        row = await self._core.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM jobs WHERE key = $1 ORDER BY created DESC LIMIT 1", key
        )
        return _job(row) if row else None

    async def counts(self) -> dict[tuple[str, str], int]:
        rows = await self._core.pool.fetch(
            "SELECT kind, status, count(*) FROM jobs GROUP BY kind, status"
        )
        return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}

    async def page(self, cursor: str | None, limit: int, kind: str | None) -> Page[Job]:
        after = decode_cursor(cursor, 2) if cursor else None
        clauses: list[str] = []
        args: list[Any] = []
        if kind is not None:
            args.append(kind)
            clauses.append(f"kind = ${len(args)}")
        if after is not None:
            args += [str(after[0]), str(after[1])]
            clauses.append(f"(created, id) < (${len(args) - 1}, ${len(args)})")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        args.append(limit + 1)
        rows = await self._core.pool.fetch(
            f"SELECT {_COLUMNS} FROM jobs{where} ORDER BY created DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        more = len(rows) > limit
        jobs = [_job(row) for row in rows[:limit]]
        return Page(jobs, encode_cursor(jobs[-1].created, jobs[-1].id) if more else None)

    async def claim(self, owner: str, kinds: list[str], lease: float) -> Job | None:
        if not kinds:
            return None
        row = await self._core.pool.fetchrow(
            f"UPDATE jobs SET status = 'running', owner = $2, lease_until = {_NOW} + $3"
            " WHERE id = (SELECT id FROM jobs WHERE kind = ANY($1::text[])"
            f" AND (status = 'queued' OR (status = 'running' AND lease_until < {_NOW}))"
            " ORDER BY created, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            kinds,
            owner,
            lease,
        )
        return _job(row) if row else None

    async def take(self, job_id: str, owner: str, lease: float) -> Job | None:
        row = await self._core.pool.fetchrow(
            f"UPDATE jobs SET status = 'running', owner = $2, lease_until = {_NOW} + $3"
            " WHERE id = $1 AND status IN ('queued', 'running')"
            f" RETURNING {_COLUMNS}",
            job_id,
            owner,
            lease,
        )
        return _job(row) if row else None

    async def progress(self, job: Job, lease: float) -> bool:
        until = await self._core.pool.fetchval(
            f"UPDATE jobs SET doc = $1, lease_until = {_NOW} + $2"
            " WHERE id = $3 AND owner = $4 AND status = 'running' RETURNING lease_until",
            job_document(job),
            lease,
            job.id,
            job.owner,
        )
        if until is None:
            return False
        job.lease_until = float(until)
        return True

    async def finish(self, job: Job) -> None:
        await self._core.pool.execute(
            "UPDATE jobs SET status = $1, doc = $2, lease_until = 0 WHERE id = $3",
            job.status,
            job_document(job),
            job.id,
        )
