"""The collector's port on PostgreSQL.

Each row statement of a unit has a set form (`VISIT_BULK`) so that the writer can
commit a whole batch of units as one statement, in one round trip."""

from __future__ import annotations

import asyncpg

from kith.storage.ports import Document, IdentityRow, SessionTaken, VisitLookup, VisitUnit
from kith.storage.postgres.core import PgCore
from kith.storage.postgres.deliveries import INSERT_DELIVERY, NOW
from kith.storage.postgres.writer import Bulk, Statements
from kith.storage.rows import UnitSql, identity_row, unit_statements

_SQL = UnitSql(
    upsert_profile=(
        "INSERT INTO profiles (id, doc, version, updated) VALUES ($1, $2, 1, $3)"
        " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc,"
        " version = profiles.version + 1, updated = excluded.updated"
    ),
    upsert_identity=(
        "INSERT INTO identities (kind, value, profile_id, claimed, event)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id,"
        " claimed = coalesce(identities.claimed, excluded.claimed),"
        " event = coalesce(identities.event, excluded.event)"
    ),
    upsert_session=(
        "INSERT INTO sessions (id, profile_id, created, doc) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, doc = excluded.doc"
    ),
    insert_session="INSERT INTO sessions (id, profile_id, created, doc) VALUES ($1, $2, $3, $4)",
    insert_event=(
        "INSERT INTO events"
        " (id, profile_id, session_id, type, source_id, time, status, channel, doc)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
    ),
    event_channel_column=True,
    insert_delivery=INSERT_DELIVERY,
)

_PROFILE_SET = " ON CONFLICT (id) DO UPDATE SET" + _SQL.upsert_profile.split("DO UPDATE SET", 1)[1]
_IDENTITY_SET = (
    " ON CONFLICT (kind, value) DO UPDATE SET" + (_SQL.upsert_identity.split("DO UPDATE SET", 1)[1])
)
_SESSION_ROWS = "unnest({0}::text[], {1}::text[], {2}::bigint[], {3}::jsonb[])"
VISIT_BULK = {
    _SQL.upsert_profile: Bulk(
        "INSERT INTO profiles (id, doc, version, updated) SELECT id, doc, 1, updated"
        " FROM unnest({0}::text[], {1}::jsonb[], {2}::bigint[]) AS r(id, doc, updated)"
        + _PROFILE_SET
    ),
    _SQL.upsert_identity: Bulk(
        "INSERT INTO identities (kind, value, profile_id, claimed, event)"
        " SELECT * FROM unnest({0}::text[], {1}::text[], {2}::text[], {3}::bigint[], {4}::text[])"
        + _IDENTITY_SET
    ),
    _SQL.upsert_session: Bulk(
        f"INSERT INTO sessions (id, profile_id, created, doc) SELECT * FROM {_SESSION_ROWS}"
        " ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, doc = excluded.doc"
    ),
    _SQL.insert_session: Bulk(
        f"INSERT INTO sessions (id, profile_id, created, doc) SELECT * FROM {_SESSION_ROWS}"
    ),
    _SQL.insert_event: Bulk(
        "INSERT INTO events"
        " (id, profile_id, session_id, type, source_id, time, status, channel, doc)"
        " SELECT * FROM unnest({0}::text[], {1}::text[], {2}::text[], {3}::text[],"
        " {4}::text[], {5}::bigint[], {6}::text[], {7}::text[], {8}::jsonb[])"
        " ON CONFLICT DO NOTHING"
    ),
    INSERT_DELIVERY: Bulk(
        "INSERT INTO deliveries (id, destination, status, event_id, profile_id, debounce, body,"
        f" created, next_attempt, expires) SELECT id, destination, 'pending', event_id,"
        f" profile_id, debounce, body, {NOW}, {NOW} + delay, {NOW} + max_age"
        " FROM unnest({0}::text[], {1}::text[], {2}::text[], {3}::text[], {4}::text[],"
        " {5}::text[], {6}::bigint[], {7}::bigint[])"
        " AS r(id, destination, event_id, profile_id, debounce, body, delay, max_age)"
        " ON CONFLICT (destination, debounce) WHERE debounce IS NOT NULL DO NOTHING"
    ),
}
"""The set form of every statement of a unit, for the writer (see `writer.Bulk`)."""


def _as_is(document: Document) -> Document:
    return document  # the jsonb codec encodes it


def visit_statements(unit: VisitUnit) -> Statements:
    return Statements(unit_statements(unit, _SQL, _as_is))


async def move_merged(conn: asyncpg.Connection, survivor: str, merged: list[str]) -> None:
    """Everything the merged profiles owned now belongs to the survivor (same transaction)."""
    others = [old for old in merged if old != survivor]
    if not others:
        return
    owner = {"id": survivor}
    await conn.execute("DELETE FROM profiles WHERE id = ANY($1::text[])", others)
    await conn.execute(
        "UPDATE identities SET profile_id = $1 WHERE profile_id = ANY($2::text[])", survivor, others
    )
    await conn.executemany(
        "INSERT INTO identities (kind, value, profile_id) VALUES ('id', $1, $2)"
        " ON CONFLICT (kind, value) DO UPDATE SET profile_id = excluded.profile_id",
        [(old, survivor) for old in others],
    )
    for table in ("sessions", "events"):
        await conn.execute(
            f"UPDATE {table} SET profile_id = $1, doc = jsonb_set(doc, '{{profile}}', $2)"
            " WHERE profile_id = ANY($3::text[])",
            survivor,
            owner,
            others,
        )


class PgTracking:
    def __init__(self, core: PgCore) -> None:
        self._core = core

    async def look_up_visit(
        self, session_id: str, profile_id: str | None, event_ids: list[str]
    ) -> VisitLookup:
        row = await self._core.pool.fetchrow(
            "SELECT (SELECT doc FROM sessions WHERE id = $1),"
            " (SELECT profile_id FROM identities WHERE kind = 'id' AND value = $2),"
            " ARRAY(SELECT id FROM events WHERE id = ANY($3::text[]))",
            session_id,
            profile_id,
            event_ids,
        )
        assert row is not None
        found = row[1]
        return VisitLookup(row[0], str(found) if found is not None else None, set(row[2]))

    async def get_session(self, session_id: str) -> Document | None:
        doc: Document | None = await self._core.pool.fetchval(
            "SELECT doc FROM sessions WHERE id = $1", session_id
        )
        return doc

    async def get_profile(self, profile_id: str) -> Document | None:
        doc: Document | None = await self._core.pool.fetchval(
            "SELECT doc FROM profiles WHERE id = $1", profile_id
        )
        return doc

    async def resolve_profile_id(self, any_id: str) -> str | None:
        found = await self._core.pool.fetchval(
            "SELECT profile_id FROM identities WHERE kind = 'id' AND value = $1", any_id
        )
        return str(found) if found is not None else None

    async def get_sessions(self, session_ids: list[str]) -> dict[str, Document]:
        return await self._docs("sessions", session_ids)

    async def get_profiles(self, profile_ids: list[str]) -> dict[str, Document]:
        return await self._docs("profiles", profile_ids)

    async def _docs(self, table: str, ids: list[str]) -> dict[str, Document]:
        if not ids:
            return {}
        rows = await self._core.pool.fetch(
            f"SELECT id, doc FROM {table} WHERE id = ANY($1::text[])",
            ids,
        )
        return {str(row[0]): row[1] for row in rows}

    async def existing_event_ids(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = await self._core.pool.fetch(
            "SELECT id FROM events WHERE id = ANY($1::text[])", event_ids
        )
        return {str(row[0]) for row in rows}

    async def commit_visit(self, unit: VisitUnit) -> None:
        await self.commit_visits([unit])

    async def commit_visits(self, units: list[VisitUnit]) -> None:
        try:
            await self._commit_all(units)
        except asyncpg.UniqueViolationError as exc:
            if any(unit.new_session for unit in units) and exc.table_name == "sessions":
                raise SessionTaken("") from exc
            raise

    async def _commit_all(self, units: list[VisitUnit]) -> None:
        statements = [visit_statements(unit) for unit in units]
        if not any(unit.merged and unit.profile is not None for unit in units):
            await self._core.writer.submit(
                Statements([pair for each in statements for pair in each.statements])
            )
            return

        async def write(conn: asyncpg.Connection) -> None:
            for unit, each in zip(units, statements, strict=True):
                for sql, rows in each.statements:
                    await conn.executemany(sql, rows)
                if unit.merged and unit.profile is not None:
                    await move_merged(conn, unit.profile["id"], list(unit.merged))

        await self._core.writer.submit(write)

    async def identity_owners(self, entries: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        if not entries:
            return {}
        rows = await self._core.pool.fetch(
            "SELECT i.kind, i.value, i.profile_id FROM identities i"
            " JOIN unnest($1::text[], $2::text[]) AS e(kind, value)"
            " ON i.kind = e.kind AND i.value = e.value",
            [kind for kind, _ in entries],
            [value for _, value in entries],
        )
        return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}

    async def identity_page(self, after: tuple[str, str] | None, limit: int) -> list[IdentityRow]:
        start = after or ("", "")
        rows = await self._core.pool.fetch(
            "SELECT kind, value, profile_id, claimed, event FROM identities"
            " WHERE (kind, value) > ($1, $2) ORDER BY kind, value LIMIT $3",
            *start,
            limit,
        )
        return [identity_row(*row) for row in rows]

    async def owned_keys(self, profile_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        owned: dict[str, list[tuple[str, str]]] = {pid: [] for pid in profile_ids}
        if not owned:
            return owned
        rows = await self._core.pool.fetch(
            "SELECT profile_id, kind, value FROM identities"
            " WHERE profile_id = ANY($1::text[]) AND kind <> 'id'",
            list(owned),
        )
        for profile_id, kind, value in rows:
            owned[str(profile_id)].append((str(kind), str(value)))
        return owned

    async def profile_identities(
        self, profile_id: str, after: tuple[str, str] | None, limit: int
    ) -> list[IdentityRow]:
        start = after or ("", "")
        rows = await self._core.pool.fetch(
            "SELECT kind, value, profile_id, claimed, event FROM identities"
            " WHERE profile_id = $1 AND (kind, value) > ($2, $3) ORDER BY kind, value LIMIT $4",
            profile_id,
            *start,
            limit,
        )
        return [identity_row(*row) for row in rows]
