"""A unit of work as table rows: the columns stored beside each document.

Both engines store the same columns (a test keeps their schemas in step); they
differ only in their SQL dialect and in how a document is passed (JSON text for
SQLite, a dict for PostgreSQL's jsonb codec), so each gives those two things and
this module does the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kith.domain.clock import iso, micros_of_iso
from kith.storage.ports import Delivery, Document, IdentityRow, VisitUnit

Statements = list[tuple[str, list[tuple[Any, ...]]]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True, frozen=True)
class UnitSql:
    """An engine's statements, each taking the rows built below, in this order."""

    upsert_profile: str  # (id, doc, updated)
    upsert_identity: str  # (kind, value, profile_id, claimed, event)
    upsert_session: str  # (id, profile_id, created, doc)
    insert_session: str
    """(id, profile_id, created, doc), for a session nobody had when the request
    looked (`VisitUnit.new_session`): fails on a session stored in the meantime."""
    insert_event: str  # (id, profile_id, session_id, type, source_id, time, status, [channel,] doc)
    event_channel_column: bool
    """False where `channel` is computed by the database from the document."""
    insert_delivery: str
    """(id, destination, event_id, profile_id, debounce, body, delay us, max age us):
    `created` is the store's clock, `next_attempt` and `expires` that plus the delays;
    a row whose (destination, debounce) is already pending is skipped."""


def identity_row(kind: str, value: str, owner: str, claimed: Any, event: Any) -> IdentityRow:
    """An index row as read back: `claimed` is stored as epoch microseconds."""
    return IdentityRow(
        str(kind),
        str(value),
        str(owner),
        iso(_EPOCH + timedelta(microseconds=int(claimed))) if claimed is not None else None,
        str(event) if event is not None else None,
    )


def event_row(
    event: Document, encode: Callable[[Document], Any], *, channel: bool
) -> tuple[Any, ...]:
    profile = event.get("profile")
    session = event.get("session")
    metadata = event["metadata"]
    columns: tuple[Any, ...] = (
        event["id"],
        profile["id"] if profile else None,
        session["id"] if session else None,
        event["type"],
        event["source"]["id"],
        micros_of_iso(metadata["time"]["insert"]),
        metadata["status"],
    )
    if channel:
        columns += (metadata.get("channel"),)
    return (*columns, encode(event))


def delivery_row(delivery: Delivery) -> tuple[Any, ...]:
    return (
        delivery.id,
        delivery.destination,
        delivery.event_id,
        delivery.profile_id,
        delivery.debounce,
        delivery.body,
        int(delivery.delay * 1_000_000),
        int(delivery.max_age * 1_000_000),
    )


def unit_statements(unit: VisitUnit, sql: UnitSql, encode: Callable[[Document], Any]) -> Statements:
    """The unit as (SQL, rows) pairs, documents encoded here, on the caller's thread."""
    statements: Statements = []
    if unit.profile is not None:
        profile = unit.profile
        updated = micros_of_iso(profile["metadata"]["time"]["update"])
        statements.append((sql.upsert_profile, [(profile["id"], encode(profile), updated)]))
    if unit.identities:
        # one row per key, the unit's last claim winning, as it would in order
        latest = {(row[0], row[1]): IdentityRow(*row) for row in unit.identities}
        rows = [
            (kind, value, owner, micros_of_iso(claimed) if claimed else None, event)
            for kind, value, owner, claimed, event in latest.values()
        ]
        statements.append((sql.upsert_identity, rows))
    if unit.session is not None:
        session = unit.session
        owner = session["profile"]["id"] if session.get("profile") else None
        created = micros_of_iso(session["metadata"]["time"]["create"])
        statement = sql.insert_session if unit.new_session else sql.upsert_session
        statements.append((statement, [(session["id"], owner, created, encode(session))]))
    if unit.events:
        channel = sql.event_channel_column
        rows = [event_row(event, encode, channel=channel) for event in unit.events]
        statements.append((sql.insert_event, rows))
    if unit.deliveries:
        statements.append((sql.insert_delivery, [delivery_row(d) for d in unit.deliveries]))
    return statements
