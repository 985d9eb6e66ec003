"""Versioned schema migrations for the embedded engine, applied at start-up and by
`kith migrate`. Never edit a released migration; append a new one."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            doc TEXT NOT NULL
        )""",
        """CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created TEXT NOT NULL
        )""",
        """CREATE TABLE profiles (
            id TEXT PRIMARY KEY,
            doc TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            updated INTEGER NOT NULL
        )""",
        "CREATE INDEX profiles_updated ON profiles (updated, id)",
        """CREATE TABLE identities (
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            profile_id TEXT NOT NULL,
            PRIMARY KEY (kind, value)
        ) WITHOUT ROWID""",
        "CREATE INDEX identities_profile ON identities (profile_id)",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            profile_id TEXT,
            created INTEGER NOT NULL,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX sessions_profile ON sessions (profile_id, created, id)",
        """CREATE TABLE events (
            id TEXT PRIMARY KEY,
            profile_id TEXT,
            session_id TEXT,
            type TEXT NOT NULL,
            source_id TEXT NOT NULL,
            time INTEGER NOT NULL,
            status TEXT NOT NULL,
            doc TEXT NOT NULL
        )""",
        # secondary index entries end in the rowid, which also breaks ties in
        # paging; leaving the 36-byte id out of them makes inserts ~25% cheaper
        "CREATE INDEX events_time ON events (time)",
        "CREATE INDEX events_profile_time ON events (profile_id, time)",
        "CREATE INDEX events_session_time ON events (session_id, time)",
        "CREATE INDEX events_type_time ON events (type, time)",
        "CREATE INDEX events_source_time ON events (source_id, time)",
    ],
    # data API: sessions listed by start time, and event counts per channel
    # answered from an index. `channel` is a virtual column computed from the
    # stored document, so the collector's write path does not change.
    [
        "CREATE INDEX sessions_created ON sessions (created, id)",
        "ALTER TABLE events ADD COLUMN channel TEXT"
        " GENERATED ALWAYS AS (json_extract(doc, '$.metadata.channel')) VIRTUAL",
        "CREATE INDEX events_channel_time ON events (channel, time)",
    ],
    [
        # configuration documents: event types, consent types, settings
        """CREATE TABLE config_docs (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            doc TEXT NOT NULL,
            PRIMARY KEY (kind, id)
        ) WITHOUT ROWID""",
    ],
    # the committed-event feed: events get `seq`, an AUTOINCREMENT key that is never
    # reused (a plain rowid is, after the newest rows are erased), so a feed
    # consumer's position can never be overtaken by a new event; consumers keep
    # their positions and leases; background jobs
    [
        """CREATE TABLE events_v4 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            profile_id TEXT,
            session_id TEXT,
            type TEXT NOT NULL,
            source_id TEXT NOT NULL,
            time INTEGER NOT NULL,
            status TEXT NOT NULL,
            doc TEXT NOT NULL,
            channel TEXT GENERATED ALWAYS AS (json_extract(doc, '$.metadata.channel')) VIRTUAL
        )""",
        "INSERT INTO events_v4 (seq, id, profile_id, session_id, type, source_id, time, status,"
        " doc) SELECT rowid, id, profile_id, session_id, type, source_id, time, status, doc"
        " FROM events ORDER BY rowid",
        "DROP TABLE events",
        "ALTER TABLE events_v4 RENAME TO events",
        "CREATE INDEX events_time ON events (time)",
        "CREATE INDEX events_profile_time ON events (profile_id, time)",
        "CREATE INDEX events_session_time ON events (session_id, time)",
        "CREATE INDEX events_type_time ON events (type, time)",
        "CREATE INDEX events_source_time ON events (source_id, time)",
        "CREATE INDEX events_channel_time ON events (channel, time)",
        """CREATE TABLE feed_consumers (
            name TEXT PRIMARY KEY,
            txid INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            owner TEXT,
            lease_until REAL NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            key TEXT,
            created TEXT NOT NULL,
            owner TEXT,
            lease_until REAL NOT NULL DEFAULT 0,
            doc TEXT NOT NULL
        )""",
        "CREATE INDEX jobs_status ON jobs (status, created, id)",
        "CREATE INDEX jobs_created ON jobs (created, id)",
        "CREATE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL",
    ],
    # the identity index remembers when each entry was claimed (epoch microseconds)
    # and by which event (null for ids); entries from before stay null
    [
        "ALTER TABLE identities ADD COLUMN claimed INTEGER",
        "ALTER TABLE identities ADD COLUMN event TEXT",
    ],
    # async storage: payloads acknowledged before they are processed (`ingest`)
    [
        """CREATE TABLE ingest (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            doc TEXT NOT NULL
        )""",
    ],
]


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    version = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(version[0]) if version else 0


def migrate(conn: sqlite3.Connection) -> tuple[int, int]:
    """Apply every pending migration in one transaction; return (from, to) versions."""
    before = schema_version(conn)
    if before > len(MIGRATIONS):
        raise RuntimeError(
            f"The store is at schema version {before}, newer than this Kith "
            f"({len(MIGRATIONS)}); upgrade Kith before opening it."
        )
    if before == len(MIGRATIONS):
        return before, before
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        for statements in MIGRATIONS[before:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("DELETE FROM schema_version")
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before, len(MIGRATIONS)
