"""The identity index on both engines: when and by which event an entry was claimed,
what each profile owns, and a person's entries page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from kith.config import Settings
from kith.storage import open_storage
from kith.storage.ports import IdentityRow, Storage, VisitUnit
from tests.postgres import SERVER, fresh_schema_url

T1 = "2026-03-01T10:00:00.123456Z"
T2 = "2026-03-02T11:00:00.000001Z"
EMAIL = "data.contact.email.main"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str
) -> AsyncIterator[Storage]:
    schema = None
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path)
    else:
        url, schema = fresh_schema_url(postgres_database)
        settings = Settings(data_dir=tmp_path, storage_url=url, pg_pool_size=2)
    storage = open_storage(settings)
    await storage.start()
    yield storage
    await storage.close()
    if schema is not None:
        conn = await asyncpg.connect(f"{SERVER}/{postgres_database}")
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def test_claimed_and_event_are_kept_when_an_entry_moves(store: Storage) -> None:
    await store.tracking.commit_visit(
        VisitUnit(
            identities=[
                IdentityRow("id", "p", "p", T1),
                IdentityRow(EMAIL, "a@x.io", "p", T1, "event-1"),
            ]
        )
    )
    rows = await store.tracking.profile_identities("p", None, 10)
    assert rows == [
        IdentityRow(EMAIL, "a@x.io", "p", T1, "event-1"),
        IdentityRow("id", "p", "p", T1, None),
    ]
    # claimed again by another profile (a merge moves it): the owner changes, nothing else
    await store.tracking.commit_visit(
        VisitUnit(identities=[IdentityRow(EMAIL, "a@x.io", "q", T2, "event-2")])
    )
    assert await store.tracking.profile_identities("q", None, 10) == [
        IdentityRow(EMAIL, "a@x.io", "q", T1, "event-1")
    ]
    assert await store.tracking.identity_page(None, 10) == [
        IdentityRow(EMAIL, "a@x.io", "q", T1, "event-1"),
        IdentityRow("id", "p", "p", T1, None),
    ]


async def test_owned_keys_and_paging(store: Storage) -> None:
    rows = [IdentityRow("id", "p", "p", T1), IdentityRow("id", "old", "p", T1)]
    rows += [IdentityRow(EMAIL, f"{n}@x.io", "p", T1, f"e{n}") for n in range(3)]
    rows += [IdentityRow(EMAIL, "o@x.io", "o", T2, "eo")]
    # old callers' plain (kind, value, profile) rows still work
    await store.tracking.commit_visit(VisitUnit(identities=[*rows, ("traits.card", "c", "p")]))  # type: ignore[list-item]
    owned = await store.tracking.owned_keys(["p", "o", "nobody"])
    assert sorted(owned["p"]) == [(EMAIL, "0@x.io"), (EMAIL, "1@x.io"), (EMAIL, "2@x.io"),
                                  ("traits.card", "c")]  # fmt: skip
    assert owned["o"] == [(EMAIL, "o@x.io")] and owned["nobody"] == []
    seen: list[IdentityRow] = []
    after: tuple[str, str] | None = None
    while page := await store.tracking.profile_identities("p", after, 2):
        seen += page
        after = (page[-1].kind, page[-1].value)
    assert [(r.kind, r.value) for r in seen] == sorted(
        [(EMAIL, f"{n}@x.io") for n in range(3)]
        + [("id", "old"), ("id", "p"), ("traits.card", "c")]
    )
    assert next(r for r in seen if r.kind == "traits.card").claimed is None
