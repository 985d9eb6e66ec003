"""The data API's queries on the embedded engine: functions of a sqlite3 connection.

Every list is keyset-paged: the cursor carries the sort key of the last row and a
unique tie-break (seq for events, id otherwise), and the next page starts
strictly after it. No OFFSET anywhere, so page 20,000 is one index seek like page
1, and rows inserted while someone pages neither repeat nor vanish (newer rows
sort before the cursor and are simply not part of a walk that started earlier).

Each query leads with a column an index starts with: events by (type|source|
profile|session|channel, time), sessions by (profile_id, created, id) or
(created, id), profiles by (updated, id). Filters that no index covers (status,
tag, segment, visit time, text search) are evaluated on the rows the index walk
yields, in order, until a page is full."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from kith.domain.clock import iso, micros
from kith.storage.ports import (
    DataTable,
    Document,
    EventFilter,
    ProfileQuery,
    SessionFilter,
    StatsBy,
    StatsInterval,
)
from kith.storage.query_parts import (
    Buckets,
    event_conditions,
    exact_candidates,
    session_conditions,
)

_STATS_COLUMN: dict[StatsBy, str] = {"type": "type", "source": "source_id", "channel": "channel"}
_STATS_INDEX: dict[StatsBy, str] = {
    "type": "events_type_time",
    "source": "events_source_time",
    "channel": "events_channel_time",
}

Row = tuple[Any, Any, str]


@dataclass(slots=True, frozen=True)
class Where:
    """SQL conditions joined with AND, and their parameters in order."""

    clauses: list[str]
    args: list[Any]

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.clauses)) if self.clauses else ""


def keyset(
    key: str,
    tiebreak: str,
    bound: int | None,
    after: list[Any] | None,
    *,
    descending: bool = True,
    named: str | None = None,
) -> Where:
    """The range condition on `key` for a page: the query's own bound (`to` when
    walking down, `from` when walking up) or, past the first page, the cursor.

    Only one of the two is given to SQLite: with both, its planner keeps the
    query's bound as the index range and checks the cursor row by row, so page
    10,000 would scan the 500,000 entries before it. A cursor from the same
    query is always inside its range; when one is not, the tighter bound wins.
    `named`: use `:{named}N` placeholders instead of `?` (args stay in order)."""
    marks = [f":{named}{n}" for n in range(3)] if named else ["?"] * 3
    past = after is not None and bound is not None and (after[0] >= bound) == descending
    if after is None or past:
        if bound is None:
            return Where([], [])
        return Where([f"{key} {'<' if descending else '>='} {marks[0]}"], [bound])
    sign = "<" if descending else ">"
    return Where(
        [
            f"{key} {sign}= {marks[0]}",
            f"({key}, {tiebreak}) {sign} ({marks[1]}, {marks[2]})",
        ],
        [after[0], after[0], after[1]],
    )


# events ----------------------------------------------------------------------------
def event_where(where: EventFilter, after: list[Any] | None) -> Where:
    shared = event_conditions(where)
    clauses = [f"{column} {op} ?" for column, op, _ in shared]
    args: list[Any] = [value for _, _, value in shared]
    page = keyset("time", "seq", micros(where.to) if where.to else None, after)
    clauses += page.clauses
    args += page.args
    if where.tag is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(doc, '$.tags') WHERE value = ?)")
        args.append(where.tag)
    return Where(clauses, args)


def list_events(
    conn: sqlite3.Connection, where: EventFilter, after: list[Any] | None, limit: int
) -> list[Row]:
    """(time, seq, doc) newest first."""
    cond = event_where(where, after)
    sql = f"SELECT time, seq, doc FROM events{cond.sql()} ORDER BY time DESC, seq DESC LIMIT ?"
    return conn.execute(sql, [*cond.args, limit]).fetchall()


def event_stats(
    conn: sqlite3.Connection,
    interval: StatsInterval,
    from_: datetime,
    to: datetime,
    by: StatsBy | None,
) -> Document:
    """Counts per bucket (and per group), every bucket of the range present, zeros too.

    Counted from the (column, time) indexes alone, never the documents. Each
    bucket is its own `count(*)` over an index range (a generated series of
    buckets with a correlated count), which SQLite runs as a tight loop over
    index entries; a single `GROUP BY (time - origin) / width` is ~4x slower
    because every entry then goes through a sorter. For a grouping, the
    distinct values are found by skipping through the index, one seek each."""
    frame = Buckets.of(interval, from_, to, by)
    if by is None:
        values: list[str | None] = [None]
        index, match = "events_time", ""
    else:
        column, index = _STATS_COLUMN[by], _STATS_INDEX[by]
        match = f"{column} = :value AND "
        values = [
            row[0]
            for row in conn.execute(
                f"WITH RECURSIVE v(x) AS ("
                f" SELECT min({column}) FROM events INDEXED BY {index}"
                f" UNION ALL SELECT (SELECT min({column}) FROM events INDEXED BY {index}"
                f"  WHERE {column} > v.x) FROM v WHERE v.x IS NOT NULL"
                f") SELECT x FROM v WHERE x IS NOT NULL"
            )
        ]
    sql = (
        "WITH RECURSIVE b(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM b WHERE n + 1 < :total)"
        f" SELECT n, (SELECT count(*) FROM events INDEXED BY {index} WHERE {match}"
        " time >= max(:start, :origin + n * :width)"
        " AND time < min(:end, :origin + (n + 1) * :width)) FROM b"
    )
    params = {
        "total": len(frame.counts),
        "start": frame.start,
        "end": frame.end,
        "origin": frame.origin,
        "width": frame.width,
    }
    for value in values:
        for number, count in conn.execute(sql, {**params, "value": value}):
            if count:
                frame.counts[number][value] = count
    return frame.document()


# sessions --------------------------------------------------------------------------
def list_sessions(
    conn: sqlite3.Connection, where: SessionFilter, after: list[Any] | None, limit: int
) -> list[Row]:
    """(created, id, doc) newest first."""
    shared = session_conditions(where)
    clauses = [f"{column} {op} ?" for column, op, _ in shared]
    args: list[Any] = [value for _, _, value in shared]
    if where.device is not None:
        clauses.append("json_extract(doc, '$.device.id') = ?")
        args.append(where.device)
    page = keyset("created", "id", micros(where.to) if where.to else None, after)
    cond = Where(clauses + page.clauses, args + page.args)
    sql = (
        f"SELECT created, id, doc FROM sessions{cond.sql()} ORDER BY created DESC, id DESC LIMIT ?"
    )
    return conn.execute(sql, [*cond.args, limit]).fetchall()


# profiles --------------------------------------------------------------------------
def identity_matches(conn: sqlite3.Connection, q: str) -> list[str]:
    """Profiles owning `q` exactly as any identity (id, e-mail, phone, any merge key).

    The index is keyed (kind, value); the few kinds are skipped through first, so
    each (kind, value) pair is a primary-key lookup rather than a scan."""
    values = exact_candidates(q)
    if not values:
        return []
    marks = ",".join("?" * len(values))
    rows = conn.execute(
        "WITH RECURSIVE k(x) AS (SELECT min(kind) FROM identities"
        " UNION ALL SELECT (SELECT min(kind) FROM identities WHERE kind > k.x)"
        " FROM k WHERE k.x IS NOT NULL)"
        f" SELECT DISTINCT i.profile_id FROM k JOIN identities i ON i.kind = k.x"
        f" AND i.value IN ({marks})",
        values,
    )
    return [str(row[0]) for row in rows]


def _like_pattern(q: str) -> str:
    """`q` as it appears inside the stored JSON text, as a LIKE substring pattern."""
    encoded = orjson.dumps(q).decode()[1:-1]
    escaped = encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# the fields `q` searches, each a JSON subtree whose scalar leaves are compared
_SEARCHED = ("$.ids", "$.data.contact.email", "$.data.contact.phone", "$.traits")
_TEXT_MATCH = (
    "(instr(lower(id), lower(:q)) > 0 OR "
    "instr(lower(coalesce(json_extract(doc, '$.data.pii.firstname'), '')), lower(:q)) > 0 OR "
    "instr(lower(coalesce(json_extract(doc, '$.data.pii.lastname'), '')), lower(:q)) > 0 OR "
    + " OR ".join(
        f"EXISTS (SELECT 1 FROM json_tree(doc, '{path}') AS t WHERE t.atom IS NOT NULL"
        " AND instr(lower(t.atom), lower(:q)) > 0)"
        for path in _SEARCHED
    )
    + ")"
)


def list_profiles(
    conn: sqlite3.Connection,
    where: ProfileQuery,
    after: list[Any] | None,
    limit: int,
    exact: list[str] | None,
) -> list[Row]:
    """(updated, id, doc), most recently updated first.

    `exact`: the profiles an identity lookup found for `q` (then the text search
    is skipped); None: `q`, if any, is a case-insensitive substring search,
    pre-filtered by a LIKE over the stored JSON so only candidate rows are parsed."""
    clauses: list[str] = []
    args: dict[str, Any] = {}
    lower_bounds = []
    if where.updated_from is not None:
        lower_bounds.append(micros(where.updated_from))
    if where.visited_from is not None:
        # a visit touches the profile, so its last update is never before it
        lower_bounds.append(micros(where.visited_from))
        clauses.append("json_extract(doc, '$.metadata.time.visit.current') >= :visited_from")
        args["visited_from"] = iso(where.visited_from)
    if lower_bounds:
        clauses.append("updated >= :updated_from")
        args["updated_from"] = max(lower_bounds)
    if where.visited_to is not None:
        clauses.append("json_extract(doc, '$.metadata.time.visit.current') < :visited_to")
        args["visited_to"] = iso(where.visited_to)
    if where.segment is not None:
        clauses.append("EXISTS (SELECT 1 FROM json_each(doc, '$.segments') WHERE value = :segment)")
        args["segment"] = where.segment
    if exact is not None:
        marks = ",".join(f":exact{n}" for n in range(len(exact)))
        clauses.append(f"id IN ({marks})")
        args.update({f"exact{n}": value for n, value in enumerate(exact)})
    elif where.q:
        clauses.append("doc LIKE :pattern ESCAPE '\\'")
        clauses.append(_TEXT_MATCH)
        args["pattern"] = _like_pattern(where.q)
        args["q"] = where.q
    updated_to = micros(where.updated_to) if where.updated_to else None
    page = keyset("updated", "id", updated_to, after, named="page")
    clauses += page.clauses
    args.update({f"page{number}": value for number, value in enumerate(page.args)})
    args["limit"] = limit
    sql = (
        "SELECT updated, id, doc FROM profiles"
        + Where(clauses, []).sql()
        + " ORDER BY updated DESC, id DESC LIMIT :limit"
    )
    return conn.execute(sql, args).fetchall()


# erase -----------------------------------------------------------------------------
def erase_profile(conn: sqlite3.Connection, profile_id: str) -> dict[str, int] | None:
    """Delete the person: profile rows, sessions, events, identity entries; counts of each.

    Runs as one unit in the writer's transaction. Every id that resolves to the
    profile is erased with it, and so are rows still filed under one of those ids
    (a merge moves them, but nothing is left behind if one did not). Events in the
    person's sessions that carry no profile (profile-less hits) go too: they are
    part of the same visits."""
    row = conn.execute("SELECT doc FROM profiles WHERE id = ?", (profile_id,)).fetchone()
    if row is None:
        return None
    doc = orjson.loads(row[0])
    ids = {profile_id, *(str(value) for value in doc.get("ids") or [])}
    ids.update(
        str(value)
        for (value,) in conn.execute(
            "SELECT value FROM identities WHERE kind = 'id' AND profile_id = ?", (profile_id,)
        )
    )
    owners = sorted(ids)
    marks = ",".join("?" * len(owners))
    sessions = [
        str(value)
        for (value,) in conn.execute(
            f"SELECT id FROM sessions WHERE profile_id IN ({marks})", owners
        )
    ]
    events = conn.execute(f"DELETE FROM events WHERE profile_id IN ({marks})", owners).rowcount
    for start in range(0, len(sessions), 500):
        chunk = sessions[start : start + 500]
        events += conn.execute(
            f"DELETE FROM events WHERE session_id IN ({','.join('?' * len(chunk))})", chunk
        ).rowcount
    # queued deliveries carry the person's data in their bodies: never sent now
    conn.execute(f"DELETE FROM deliveries WHERE profile_id IN ({marks})", owners)
    removed_sessions = conn.execute(
        f"DELETE FROM sessions WHERE profile_id IN ({marks})", owners
    ).rowcount
    identities = conn.execute(
        f"DELETE FROM identities WHERE profile_id IN ({marks})", owners
    ).rowcount
    profiles = conn.execute(f"DELETE FROM profiles WHERE id IN ({marks})", owners).rowcount
    return {
        "profiles": profiles,
        "ids": len(owners),
        "sessions": removed_sessions,
        "events": events,
        "identities": identities,
    }


# bulk export -----------------------------------------------------------------------
_EXPORT_KEY: dict[DataTable, tuple[str, str]] = {
    "profiles": ("updated", "id"),
    "sessions": ("created", "id"),
    "events": ("time", "seq"),
}


def _range(
    table: DataTable, from_: datetime | None, to: datetime | None, after: list[Any] | None
) -> Where:
    key, tiebreak = _EXPORT_KEY[table]
    page = keyset(key, tiebreak, micros(from_) if from_ else None, after, descending=False)
    if to is not None:
        page.clauses.append(f"{key} < ?")
        page.args.append(micros(to))
    return page


def export_rows(
    conn: sqlite3.Connection,
    table: DataTable,
    from_: datetime | None,
    to: datetime | None,
    after: list[Any] | None,
    limit: int,
) -> list[Row]:
    """(key, tie-break, doc) oldest first, for exports that replay in time order."""
    key, tiebreak = _EXPORT_KEY[table]
    cond = _range(table, from_, to, after)
    sql = (
        f"SELECT {key}, {tiebreak}, doc FROM {table}{cond.sql()} ORDER BY {key}, {tiebreak} LIMIT ?"
    )
    return conn.execute(sql, [*cond.args, limit]).fetchall()


def count_rows(
    conn: sqlite3.Connection, table: DataTable, from_: datetime | None, to: datetime | None
) -> int:
    cond = _range(table, from_, to, None)
    return int(conn.execute(f"SELECT count(*) FROM {table}{cond.sql()}", cond.args).fetchone()[0])
