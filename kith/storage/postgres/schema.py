"""Versioned schema migrations for PostgreSQL, applied at start-up and by `kith migrate`.

The tables, columns and indexes are those of the embedded engine (a contract
test compares the two), in PostgreSQL's types: documents are `jsonb`, and
events are range-partitioned by month on their insert time (epoch
microseconds), with partitions created ahead by `ensure_partitions` and a
default partition so that no insert can ever fail for want of one. Every
profile-owned table carries `profile_id`, the distribution column if the
store is ever sharded by profile (Citus)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE sources (id text PRIMARY KEY, doc jsonb NOT NULL)",
        """CREATE TABLE api_keys (
            id text PRIMARY KEY, role text NOT NULL, name text NOT NULL,
            secret_hash text NOT NULL, created text NOT NULL)""",
        """CREATE TABLE profiles (
            id text PRIMARY KEY, doc jsonb NOT NULL,
            version integer NOT NULL DEFAULT 1, updated bigint NOT NULL)""",
        "CREATE INDEX profiles_updated ON profiles (updated, id)",
        """CREATE TABLE identities (
            kind text NOT NULL, value text NOT NULL, profile_id text NOT NULL,
            PRIMARY KEY (kind, value))""",
        "CREATE INDEX identities_profile ON identities (profile_id)",
        """CREATE TABLE sessions (
            id text PRIMARY KEY, profile_id text, created bigint NOT NULL,
            doc jsonb NOT NULL)""",
        "CREATE INDEX sessions_profile ON sessions (profile_id, created, id)",
        "CREATE INDEX sessions_created ON sessions (created, id)",
        # `seq` plays SQLite's rowid: a unique, insert-ordered tiebreak for paging
        """CREATE TABLE events (
            id text NOT NULL, profile_id text, session_id text, type text NOT NULL,
            source_id text NOT NULL, time bigint NOT NULL, status text NOT NULL,
            channel text, seq bigint GENERATED ALWAYS AS IDENTITY, doc jsonb NOT NULL,
            PRIMARY KEY (id, time)
        ) PARTITION BY RANGE (time)""",
        "CREATE TABLE events_default PARTITION OF events DEFAULT",
        "CREATE INDEX events_id ON events (id)",
        "CREATE INDEX events_time ON events (time, seq)",
        "CREATE INDEX events_profile_time ON events (profile_id, time)",
        "CREATE INDEX events_session_time ON events (session_id, time)",
        "CREATE INDEX events_type_time ON events (type, time)",
        "CREATE INDEX events_source_time ON events (source_id, time)",
        "CREATE INDEX events_channel_time ON events (channel, time)",
        """CREATE TABLE config_docs (
            kind text NOT NULL, id text NOT NULL, doc jsonb NOT NULL,
            PRIMARY KEY (kind, id))""",
    ],
    # the committed-event feed: the transaction that wrote each event (see
    # `feed`), the consumers' positions and leases; background jobs
    [
        "ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id()",
        "CREATE INDEX events_feed ON events (txid, seq)",
        """CREATE TABLE feed_consumers (
            name text PRIMARY KEY, txid bigint NOT NULL, seq bigint NOT NULL,
            owner text, lease_until double precision NOT NULL DEFAULT 0)""",
        """CREATE TABLE jobs (
            id text PRIMARY KEY, kind text NOT NULL, status text NOT NULL, key text,
            created text NOT NULL, owner text,
            lease_until double precision NOT NULL DEFAULT 0, doc jsonb NOT NULL)""",
        "CREATE INDEX jobs_status ON jobs (status, created, id)",
        "CREATE INDEX jobs_created ON jobs (created, id)",
        "CREATE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL",
    ],
    # the identity index remembers when each entry was claimed (epoch microseconds)
    # and by which event (null for ids); entries from before stay null
    [
        "ALTER TABLE identities ADD COLUMN claimed bigint, ADD COLUMN event text",
    ],
    # async storage: payloads acknowledged before they are processed (`ingest`)
    [
        """CREATE TABLE ingest (
            seq bigint GENERATED ALWAYS AS IDENTITY,
            txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
            doc jsonb NOT NULL,
            PRIMARY KEY (txid, seq))""",
    ],
]


async def schema_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    version = await conn.fetchval("SELECT version FROM schema_version")
    return int(version or 0)


async def migrate(conn: asyncpg.Connection) -> tuple[int, int]:
    """Apply every pending migration in one transaction; return (from, to) versions.

    An advisory lock makes concurrent starters (many workers) wait for one of
    them to migrate instead of racing."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kith:migrate', 0))")
        before = await schema_version(conn)
        if before > len(MIGRATIONS):
            raise RuntimeError(
                f"The store is at schema version {before}, newer than this Kith "
                f"({len(MIGRATIONS)}); upgrade Kith before opening it."
            )
        if before == len(MIGRATIONS):
            return before, before
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        for statements in MIGRATIONS[before:]:
            for statement in statements:
                await conn.execute(statement)
        await conn.execute("DELETE FROM schema_version")
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", len(MIGRATIONS))
    return before, len(MIGRATIONS)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


async def ensure_partitions(conn: asyncpg.Connection, now: datetime, ahead: int = 3) -> int:
    """Create the monthly event partitions from this month to `ahead` months on;
    return how many were created. Safe to run from many processes at once."""
    created = 0
    for offset in range(ahead + 1):
        start = _month_start(now.year, now.month + offset)
        end = _month_start(start.year, start.month + 1)
        name = f"events_{start:%Y_%m}"
        async with conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('kith:partitions', 0))"
            )
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
                continue
            # rows already in the default partition for this range would block the
            # new partition; set them aside and put them back through the parent
            lower, upper = _micros(start), _micros(end)
            await conn.execute("CREATE TEMP TABLE kith_moved (LIKE events_default) ON COMMIT DROP")
            await conn.execute(
                "WITH gone AS (DELETE FROM events_default WHERE time >= $1 AND time < $2"
                " RETURNING *) INSERT INTO kith_moved SELECT * FROM gone",
                lower,
                upper,
            )
            await conn.execute(
                f"CREATE TABLE {name} PARTITION OF events FOR VALUES FROM ({lower}) TO ({upper})"
            )
            await conn.execute(
                "INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM kith_moved"
            )
            created += 1
    return created
