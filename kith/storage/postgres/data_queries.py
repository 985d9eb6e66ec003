"""The data API's queries on PostgreSQL: the counterpart of `kith.storage.sqlite.data_queries`.

Same answers and the same cursors as the embedded engine, so a client (or a test)
cannot tell which store paged it: every list is keyset-paged on (sort key,
unique tie-break) and the next page starts strictly after the cursor's pair. The
tie-break is `seq` for events (the identity column that plays SQLite's rowid:
unique across all monthly partitions, insert-ordered) and `id` otherwise. Both
halves of every cursor are plain ints or strings, which is all that
`kith.storage.cursor` round-trips through JSON; a cursor that decodes to anything
else is refused as a bad request rather than reaching the server as a type error.

Each list compares the row value `(key, tie-break)` against the cursor, which
PostgreSQL turns into one index range (events_time is (time, seq), profiles_updated
(updated, id), sessions_created (created, id)), and the time bounds on events
prune the monthly partitions. Filters no index covers (status, tag, segment,
visit time, text search) are evaluated on the rows the walk yields, in order,
until the page is full.

Values only ever travel as parameters ($1, $2 ...). The only text put into SQL
are column and table names, and those come from the fixed maps below, keyed by
the `Literal` types of the port."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from kith.domain.clock import iso, micros
from kith.domain.errors import InvalidPayload
from kith.storage.ports import (
    DataTable,
    Document,
    EventFilter,
    ProfileQuery,
    SessionFilter,
    StatsBy,
    StatsInterval,
)

# shared with the embedded engine on purpose: the bucket widths and the spellings
# an exact identity may be stored under must not drift between the two stores
from kith.storage.query_parts import (
    Buckets,
    event_conditions,
    exact_candidates,
    session_conditions,
)

Row = tuple[Any, Any, Document]
"""(sort key, tie-break, document): what the engine turns into a page and a cursor."""

_BIGINT = (-(2**63), 2**63 - 1)
_STATS_COLUMN: dict[StatsBy, str] = {"type": "type", "source": "source_id", "channel": "channel"}
_EXPORT_KEY: dict[DataTable, tuple[str, str]] = {
    "profiles": ("updated", "id"),
    "sessions": ("created", "id"),
    "events": ("time", "seq"),
}
# what each table's cursor holds: (sort key, tie-break) as Python types
_CURSOR_TYPES: dict[DataTable, tuple[type, type]] = {
    "profiles": (int, str),
    "sessions": (int, str),
    "events": (int, int),
}


class _Params:
    """Collects parameters and hands out their placeholders, so the SQL text and
    the argument list cannot fall out of step however many filters are set."""

    __slots__ = ("args", "clauses")

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.clauses: list[str] = []

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def where(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def _cursor(after: list[Any], table: DataTable) -> tuple[Any, Any]:
    """The cursor's (key, tie-break), checked against the table's column types.

    `decode_cursor` only checks the arity; a forged or stale cursor holding a
    string where a bigint is expected would otherwise fail inside asyncpg as a
    server error instead of a 422 like any other bad cursor."""
    key, tiebreak = after
    for value, expected in zip((key, tiebreak), _CURSOR_TYPES[table], strict=True):
        ok = isinstance(value, expected) and not isinstance(value, bool)
        if ok and expected is int and not _BIGINT[0] <= value <= _BIGINT[1]:
            ok = False
        if not ok:
            raise InvalidPayload.at(["query", "cursor"], "Invalid cursor", "value_error")
    return key, tiebreak


def _rows(records: list[asyncpg.Record]) -> list[Row]:
    return [(record[0], record[1], record[2]) for record in records]


def _affected(status: str) -> int:
    """Rows affected, from a command status such as `DELETE 3`."""
    return int(status.rsplit(" ", 1)[-1])


# events ----------------------------------------------------------------------------
async def list_events(
    pool: asyncpg.Pool, where: EventFilter, after: list[Any] | None, limit: int
) -> list[Row]:
    """(time, seq, doc) newest first."""
    p = _Params()
    p.clauses += [f"{column} {op} {p(value)}" for column, op, value in event_conditions(where)]
    if where.to is not None:
        p.clauses.append(f"time < {p(micros(where.to))}")
    if where.tag is not None:
        # `?`: a string element of the top-level array, as json_each's `value = ?`
        p.clauses.append(f"(doc -> 'tags') ? {p(where.tag)}")
    if after is not None:
        time, seq = _cursor(after, "events")
        p.clauses.append(f"(time, seq) < ({p(time)}::bigint, {p(seq)}::bigint)")
    sql = (
        f"SELECT time, seq, doc FROM events{p.where()}"
        f" ORDER BY time DESC, seq DESC LIMIT {p(limit)}"
    )
    return _rows(await pool.fetch(sql, *p.args))


async def event_stats(
    pool: asyncpg.Pool,
    interval: StatsInterval,
    from_: datetime,
    to: datetime,
    by: StatsBy | None,
) -> Document:
    """Counts per bucket (and per group), every bucket of the range present, zeros too.

    Buckets are aligned as the embedded engine aligns them (on multiples of the
    width since the epoch, the first one holding `from_`), so the bucket of a row
    is plain integer arithmetic on its microseconds: `(time - origin) / width`.
    One aggregate over the time range does it; the range bound prunes the
    monthly partitions and the (column, time) indexes cover it. Rows whose group
    column is NULL (events without a channel) are in no group and so, as there,
    in no count of a grouped answer. The empty buckets are filled in here, not by
    a generated series in SQL: the route caps them at 10,000."""
    frame = Buckets.of(interval, from_, to, by)
    if frame.counts:
        if by is None:
            sql = (
                "SELECT (time - $1::bigint) / $2::bigint AS n, NULL::text, count(*)"
                " FROM events WHERE time >= $3 AND time < $4 GROUP BY n"
            )
        else:
            column = _STATS_COLUMN[by]
            sql = (
                f"SELECT (time - $1::bigint) / $2::bigint AS n, {column}, count(*)"
                f" FROM events WHERE time >= $3 AND time < $4 AND {column} IS NOT NULL"
                f" GROUP BY n, {column}"
            )
        rows = await pool.fetch(sql, frame.origin, frame.width, frame.start, frame.end)
        for number, value, count in rows:
            frame.counts[number][value] = count
    return frame.document()


# sessions --------------------------------------------------------------------------
async def list_sessions(
    pool: asyncpg.Pool, where: SessionFilter, after: list[Any] | None, limit: int
) -> list[Row]:
    """(created, id, doc) newest first."""
    p = _Params()
    p.clauses += [f"{column} {op} {p(value)}" for column, op, value in session_conditions(where)]
    if where.device is not None:
        p.clauses.append(f"doc #>> '{{device,id}}' = {p(where.device)}")
    if where.to is not None:
        p.clauses.append(f"created < {p(micros(where.to))}")
    if after is not None:
        created, session_id = _cursor(after, "sessions")
        p.clauses.append(f"(created, id) < ({p(created)}::bigint, {p(session_id)}::text)")
    sql = (
        f"SELECT created, id, doc FROM sessions{p.where()}"
        f" ORDER BY created DESC, id DESC LIMIT {p(limit)}"
    )
    return _rows(await pool.fetch(sql, *p.args))


# profiles --------------------------------------------------------------------------
# Profiles owning `q` exactly as an identity. The primary key is (kind, value) and
# the lookup knows only the value, so the few kinds are found first by skipping
# through the index (each step one `min(kind) > previous` seek), then every
# (kind, value) pair is a primary-key probe instead of a scan of the index.
_IDENTITY_MATCHES = (
    "WITH RECURSIVE k(x) AS ("
    " SELECT min(kind) FROM identities"
    " UNION ALL SELECT (SELECT min(kind) FROM identities WHERE kind > k.x)"
    " FROM k WHERE k.x IS NOT NULL)"
    " SELECT DISTINCT i.profile_id FROM k JOIN identities i"
    " ON i.kind = k.x AND i.value = ANY($1::text[])"
)

# `q` as a substring of the id, the names, or any scalar leaf (string, number,
# boolean) of the ids, the e-mail and phone subtrees and the traits; keys and every
# other field are not searched. `lax $.**` yields a tree's root and every value
# under it, through arrays too; duplicates it may yield in lax mode do not matter
# to EXISTS, and a missing subtree is NULL and yields nothing.
# Case-insensitive for ASCII letters only, as documented (docs/data-api.md) and as
# the embedded engine does: `lower` under the C collation folds A-Z and nothing
# else, whatever the database's own collation is.
_FOLD = 'lower(({}) COLLATE "C")'
_TEXT_MATCH = (
    "(strpos({id}, {q}) > 0"
    " OR strpos({first}, {q}) > 0"
    " OR strpos({last}, {q}) > 0"
    " OR EXISTS (SELECT 1 FROM unnest(ARRAY[doc -> 'ids', doc #> '{{data,contact,email}}',"
    " doc #> '{{data,contact,phone}}', doc -> 'traits']) AS s(tree),"
    " jsonb_path_query(s.tree, 'lax $.**') AS t(leaf)"
    " WHERE jsonb_typeof(t.leaf) IN ('string', 'number', 'boolean')"
    " AND strpos({leaf}, {q}) > 0))"
)


def _text_match(q: str) -> str:
    """The search condition with `q` (a placeholder) folded like the values."""
    return _TEXT_MATCH.format(
        id=_FOLD.format("id"),
        first=_FOLD.format("doc #>> '{data,pii,firstname}'"),
        last=_FOLD.format("doc #>> '{data,pii,lastname}'"),
        leaf=_FOLD.format("t.leaf #>> '{}'"),
        q=_FOLD.format(q + "::text"),
    )


_VISIT_CURRENT = "(doc #>> '{metadata,time,visit,current}') COLLATE \"C\""


async def list_profiles(
    pool: asyncpg.Pool, where: ProfileQuery, after: list[Any] | None, limit: int
) -> list[Row]:
    """(updated, id, doc), most recently updated first.

    `q` is first looked up as an exact identity (id, e-mail, phone, any merge
    key); if it names profiles, those are the candidates and the text search is
    skipped, exactly as the embedded engine's search does. Otherwise `q` is a
    substring search, case-insensitive for ASCII. Both steps run on one connection."""
    async with pool.acquire() as conn:
        exact: list[str] = []
        if where.q:
            candidates = exact_candidates(where.q)
            if candidates:
                found = await conn.fetch(_IDENTITY_MATCHES, candidates)
                exact = sorted(str(record[0]) for record in found)
        p = _Params()
        lower_bounds: list[int] = []
        if where.updated_from is not None:
            lower_bounds.append(micros(where.updated_from))
        if where.visited_from is not None:
            # a visit touches the profile, so its last update is never before it:
            # the bound on `updated` lets the index walk stop early
            lower_bounds.append(micros(where.visited_from))
            # ISO-8601 UTC strings of one shape order as their bytes do: compare
            # them in the C collation whatever the database's default is
            p.clauses.append(f"{_VISIT_CURRENT} >= {p(iso(where.visited_from))}")
        if lower_bounds:
            p.clauses.append(f"updated >= {p(max(lower_bounds))}")
        if where.updated_to is not None:
            p.clauses.append(f"updated < {p(micros(where.updated_to))}")
        if where.visited_to is not None:
            p.clauses.append(f"{_VISIT_CURRENT} < {p(iso(where.visited_to))}")
        if where.segment is not None:
            p.clauses.append(f"(doc -> 'segments') ? {p(where.segment)}")
        if exact:
            p.clauses.append(f"id = ANY({p(exact)}::text[])")
        elif where.q:
            p.clauses.append(_text_match(p(where.q)))
        if after is not None:
            updated, profile_id = _cursor(after, "profiles")
            p.clauses.append(f"(updated, id) < ({p(updated)}::bigint, {p(profile_id)}::text)")
        sql = (
            f"SELECT updated, id, doc FROM profiles{p.where()}"
            f" ORDER BY updated DESC, id DESC LIMIT {p(limit)}"
        )
        return _rows(await conn.fetch(sql, *p.args))


# erase -----------------------------------------------------------------------------
async def erase_profile(conn: asyncpg.Connection, profile_id: str) -> dict[str, int] | None:
    """Delete the person: profile rows, sessions, events, identity entries; counts of each.

    Runs in the writer's transaction, so the person is gone entirely or not at all.
    Every id that resolves to the profile is erased with it, and so are rows still
    filed under one of those ids (a merge moves them, but nothing is left behind if
    one did not). Events in the person's sessions that carry no profile
    (profile-less hits) go too: they are part of the same visits. Events are
    deleted by owner first and then by session, so no event is counted twice.

    The deleted rows stay in the table files as dead tuples until (auto)vacuum
    reclaims them; that is PostgreSQL's counterpart of SQLite's secure_delete and
    is left to the database's maintenance."""
    doc: Document | None = await conn.fetchval("SELECT doc FROM profiles WHERE id = $1", profile_id)
    if doc is None:
        return None
    ids = {profile_id, *(str(value) for value in doc.get("ids") or [])}
    ids.update(
        str(record[0])
        for record in await conn.fetch(
            "SELECT value FROM identities WHERE kind = 'id' AND profile_id = $1", profile_id
        )
    )
    owners = sorted(ids)
    sessions = [
        str(record[0])
        for record in await conn.fetch(
            "SELECT id FROM sessions WHERE profile_id = ANY($1::text[])", owners
        )
    ]
    events = _affected(
        await conn.execute("DELETE FROM events WHERE profile_id = ANY($1::text[])", owners)
    )
    if sessions:
        events += _affected(
            await conn.execute("DELETE FROM events WHERE session_id = ANY($1::text[])", sessions)
        )
    # queued deliveries carry the person's data in their bodies: never sent now
    await conn.execute("DELETE FROM deliveries WHERE profile_id = ANY($1::text[])", owners)
    removed_sessions = _affected(
        await conn.execute("DELETE FROM sessions WHERE profile_id = ANY($1::text[])", owners)
    )
    identities = _affected(
        await conn.execute("DELETE FROM identities WHERE profile_id = ANY($1::text[])", owners)
    )
    profiles = _affected(
        await conn.execute("DELETE FROM profiles WHERE id = ANY($1::text[])", owners)
    )
    return {
        "profiles": profiles,
        "ids": len(owners),
        "sessions": removed_sessions,
        "events": events,
        "identities": identities,
    }


# bulk export -----------------------------------------------------------------------
def _range(table: DataTable, from_: datetime | None, to: datetime | None) -> _Params:
    column = _EXPORT_KEY[table][0]
    p = _Params()
    if from_ is not None:
        p.clauses.append(f"{column} >= {p(micros(from_))}")
    if to is not None:
        p.clauses.append(f"{column} < {p(micros(to))}")
    return p


async def export_rows(
    pool: asyncpg.Pool,
    table: DataTable,
    from_: datetime | None,
    to: datetime | None,
    after: list[Any] | None,
    limit: int,
) -> list[Row]:
    """(key, tie-break, doc) oldest first, for exports that replay in time order."""
    key, tiebreak = _EXPORT_KEY[table]
    p = _range(table, from_, to)
    if after is not None:
        last_key, last_tiebreak = _cursor(after, table)
        cast = "bigint" if _CURSOR_TYPES[table][1] is int else "text"
        p.clauses.append(
            f"({key}, {tiebreak}) > ({p(last_key)}::bigint, {p(last_tiebreak)}::{cast})"
        )
    sql = (
        f"SELECT {key}, {tiebreak}, doc FROM {table}{p.where()}"
        f" ORDER BY {key}, {tiebreak} LIMIT {p(limit)}"
    )
    return _rows(await pool.fetch(sql, *p.args))


async def count_rows(
    pool: asyncpg.Pool, table: DataTable, from_: datetime | None, to: datetime | None
) -> int:
    p = _range(table, from_, to)
    count = await pool.fetchval(f"SELECT count(*) FROM {table}{p.where()}", *p.args)
    return int(count)
