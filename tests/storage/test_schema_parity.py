"""Both engines keep the same tables, columns and indexed column lists.

The engines declare their schemas in their own dialects (jsonb and monthly
partitions on PostgreSQL); this test is what keeps the two in step."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg

from kith.storage.postgres.core import connection_options, migrate_database
from kith.storage.sqlite.engine import migrate_file
from tests.postgres import drop_schema, fresh_schema_url

# engine-specific: PostgreSQL records the transaction of each event for the feed
# (its `seq` is not commit order, SQLite's is); partitions are PostgreSQL's
_ONLY_POSTGRES_COLUMNS = {("events", "txid"), ("ingest", "txid")}
_ONLY_POSTGRES_INDEXES = {("events", ("id",)), ("events", ("txid", "seq"))}
_TABLES = (
    "sources",
    "api_keys",
    "profiles",
    "identities",
    "sessions",
    "events",
    "config_docs",
    "feed_consumers",
    "jobs",
    "ingest",
)


def sqlite_schema(path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, tuple[str, ...]]]]:
    migrate_file(path)
    conn = sqlite3.connect(path)
    try:
        columns = {
            (table, row[1])
            for table in _TABLES
            for row in conn.execute(f"PRAGMA table_xinfo({table})")
        }
        indexes = set()
        for table in _TABLES:
            for index in conn.execute(f"PRAGMA index_list({table})"):
                if index[3] != "c":  # only indexes created on purpose, not PK/unique ones
                    continue
                cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index[1]})"))
                indexes.add((table, cols))
        return columns, indexes
    finally:
        conn.close()


async def postgres_schema(
    url: str,
) -> tuple[set[tuple[str, str]], set[tuple[str, tuple[str, ...]]]]:
    await migrate_database(url)
    dsn, server_settings = connection_options(url)
    conn = await asyncpg.connect(dsn, server_settings=server_settings)
    try:
        columns = {
            (r[0], r[1])
            for r in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ANY($1::text[])",
                list(_TABLES),
            )
        }
        indexes = set()
        for r in await conn.fetch(
            "SELECT t.relname, array_agg(a.attname ORDER BY k.ord)"
            " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
            " WHERE NOT i.indisprimary AND t.relname = ANY($1::text[])"
            " GROUP BY i.indexrelid, t.relname",
            list(_TABLES),
        ):
            indexes.add((r[0], tuple(r[1])))
        return columns, indexes
    finally:
        await conn.close()


def test_both_engines_have_the_same_tables_columns_and_indexes(
    tmp_path: Path, postgres_database: str
) -> None:
    lite_columns, lite_indexes = sqlite_schema(tmp_path / "kith.db")
    url, schema = fresh_schema_url(postgres_database)
    try:
        pg_columns, pg_indexes = asyncio.run(postgres_schema(url))
    finally:
        drop_schema(postgres_database, schema)
    assert {t for t, _ in lite_columns} == set(_TABLES)
    assert pg_columns - _ONLY_POSTGRES_COLUMNS == lite_columns
    # PostgreSQL's events indexes end in `seq` where SQLite's end in the implicit rowid
    # (which is `seq` there), and it has one on the event id, which SQLite's unique
    # constraint gives for free
    normalised = {
        (table, tuple(c for c in cols if c != "seq"))
        for table, cols in pg_indexes
        if (table, cols) not in _ONLY_POSTGRES_INDEXES
    }
    assert normalised == lite_indexes
