"""The collector's port on the embedded engine: inline point reads, one unit per request."""

from __future__ import annotations

import sqlite3

import orjson

from kith.storage.ports import Document, IdentityRow, SessionTaken, VisitLookup, VisitUnit
from kith.storage.rows import UnitSql, identity_row, unit_statements
from kith.storage.sqlite.core import SQLiteCore, text
from kith.storage.sqlite.deliveries import INSERT_DELIVERY
from kith.storage.sqlite.writer import RowWrites

_SQL = UnitSql(
    upsert_profile=(
        "INSERT INTO profiles (id, doc, version, updated) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc,"
        " version = profiles.version + 1, updated = excluded.updated"
    ),
    upsert_identity=(
        "INSERT INTO identities (kind, value, profile_id, claimed, event) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id,"
        " claimed = coalesce(identities.claimed, excluded.claimed),"
        " event = coalesce(identities.event, excluded.event)"
    ),
    upsert_session=(
        "INSERT INTO sessions (id, profile_id, created, doc) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, doc = excluded.doc"
    ),
    insert_session="INSERT INTO sessions (id, profile_id, created, doc) VALUES (?, ?, ?, ?)",
    insert_event=(
        "INSERT OR IGNORE INTO events"
        " (id, profile_id, session_id, type, source_id, time, status, doc)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    event_channel_column=False,  # a virtual column computed from the document
    insert_delivery=INSERT_DELIVERY,
)


_CHUNK = 500
"""Ids per `IN (...)` of a batched read."""


def visit_rows(unit: VisitUnit) -> RowWrites:
    """The unit as plain rows, serialised here, on the caller's thread."""
    return RowWrites(unit_statements(unit, _SQL, text))


def move_merged(conn: sqlite3.Connection, survivor: str, merged: list[str]) -> None:
    """Everything the merged profiles owned now belongs to the survivor; they are gone.

    Runs in the same transaction as the survivor's upsert, so a reader sees the
    profiles either before the merge or after it, never half-way."""
    owner = orjson.dumps({"id": survivor}).decode()
    for old in merged:
        if old == survivor:
            continue
        conn.execute("DELETE FROM profiles WHERE id = ?", (old,))
        conn.execute("UPDATE identities SET profile_id = ? WHERE profile_id = ?", (survivor, old))
        conn.execute(
            "INSERT INTO identities (kind, value, profile_id) VALUES ('id', ?, ?)"
            " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id",
            (old, survivor),
        )
        conn.execute(
            "UPDATE sessions SET profile_id = ?, doc = json_set(doc, '$.profile', json(?))"
            " WHERE profile_id = ?",
            (survivor, owner, old),
        )
        conn.execute(
            "UPDATE events SET profile_id = ?, doc = json_set(doc, '$.profile', json(?))"
            " WHERE profile_id = ?",
            (survivor, owner, old),
        )


class SQLiteTracking:
    def __init__(self, core: SQLiteCore) -> None:
        self._core = core

    async def look_up_visit(
        self, session_id: str, profile_id: str | None, event_ids: list[str]
    ) -> VisitLookup:
        session = await self.get_session(session_id)
        found = await self.resolve_profile_id(profile_id) if profile_id else None
        return VisitLookup(session, found, await self.existing_event_ids(event_ids))

    async def get_session(self, session_id: str) -> Document | None:
        return self._core.doc("SELECT doc FROM sessions WHERE id = ?", session_id)

    async def get_profile(self, profile_id: str) -> Document | None:
        return self._core.doc("SELECT doc FROM profiles WHERE id = ?", profile_id)

    async def resolve_profile_id(self, any_id: str) -> str | None:
        row = self._core.hot.execute(
            "SELECT profile_id FROM identities WHERE kind = 'id' AND value = ?", (any_id,)
        ).fetchone()
        return str(row[0]) if row else None

    async def get_sessions(self, session_ids: list[str]) -> dict[str, Document]:
        return self._docs("sessions", session_ids)

    async def get_profiles(self, profile_ids: list[str]) -> dict[str, Document]:
        return self._docs("profiles", profile_ids)

    def _docs(self, table: str, ids: list[str]) -> dict[str, Document]:
        found: dict[str, Document] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._core.hot.execute(
                f"SELECT id, doc FROM {table} WHERE id IN ({marks})",
                chunk,
            )
            found.update((str(row[0]), orjson.loads(row[1])) for row in rows)
        return found

    async def existing_event_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        marks = ",".join("?" * len(event_ids))
        rows = self._core.hot.execute(f"SELECT id FROM events WHERE id IN ({marks})", event_ids)
        return {str(row[0]) for row in rows}

    async def commit_visit(self, unit: VisitUnit) -> None:
        await self.commit_visits([unit])

    async def commit_visits(self, units: list[VisitUnit]) -> None:
        try:
            await self._commit_all(units)
        except sqlite3.IntegrityError as exc:
            if any(unit.new_session for unit in units) and "sessions.id" in str(exc):
                raise SessionTaken("") from exc
            raise

    async def _commit_all(self, units: list[VisitUnit]) -> None:
        rows = [visit_rows(unit) for unit in units]
        if not any(unit.merged and unit.profile is not None for unit in units):
            await self._core.writer.submit_rows(
                RowWrites([statement for each in rows for statement in each.statements])
            )
            return

        def write(conn: sqlite3.Connection) -> None:
            for unit, each in zip(units, rows, strict=True):
                for sql, params in each.statements:
                    conn.executemany(sql, params)
                if unit.merged and unit.profile is not None:
                    move_merged(conn, unit.profile["id"], list(unit.merged))

        await self._core.writer.submit(write)

    async def identity_owners(self, entries: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        conn = self._core.hot
        owners: dict[tuple[str, str], str] = {}
        for kind, value in entries:
            row = conn.execute(
                "SELECT profile_id FROM identities WHERE kind = ? AND value = ?", (kind, value)
            ).fetchone()
            if row is not None:
                owners[(kind, value)] = str(row[0])
        return owners

    async def identity_page(self, after: tuple[str, str] | None, limit: int) -> list[IdentityRow]:
        start = after or ("", "")

        def query(conn: sqlite3.Connection) -> list[IdentityRow]:
            rows = conn.execute(
                "SELECT kind, value, profile_id, claimed, event FROM identities"
                " WHERE (kind, value) > (?, ?) ORDER BY kind, value LIMIT ?",
                (*start, limit),
            )
            return [identity_row(*row) for row in rows]

        return await self._core.read(query)

    async def owned_keys(self, profile_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        # under the profiles' locks on the collector's path: inline, like the point reads
        owned: dict[str, list[tuple[str, str]]] = {pid: [] for pid in profile_ids}
        for profile_id in owned:
            rows = self._core.hot.execute(
                "SELECT kind, value FROM identities WHERE profile_id = ? AND kind <> 'id'",
                (profile_id,),
            )
            owned[profile_id] = [(str(kind), str(value)) for kind, value in rows]
        return owned

    async def profile_identities(
        self, profile_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[IdentityRow]:
        start = after or ("", "")

        def query(conn: sqlite3.Connection) -> list[IdentityRow]:
            rows = conn.execute(
                "SELECT kind, value, profile_id, claimed, event FROM identities"
                " WHERE profile_id = ? AND (kind, value) > (?, ?) ORDER BY kind, value LIMIT ?",
                (profile_id, *start, limit),
            )
            return [identity_row(*row) for row in rows]

        return await self._core.read(query)
