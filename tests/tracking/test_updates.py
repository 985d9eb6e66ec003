"""`ProfileUpdates.update_many`: batch changes of many profiles, as a refresh makes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kith.config import Settings
from kith.domain.document import Document
from kith.domain.profile import new_profile
from kith.segments.live import segment_events
from kith.services import Services, build_services
from kith.storage.ports import IdentityRow, VisitUnit
from kith.tracking.updates import Change

NOW = "2026-11-01T10:00:00Z"
EMAIL = "data.contact.email.main"
REQUEST: Document = {"headers": {}, "ip": None}


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    built = build_services(Settings(data_dir=tmp_path / "data"))
    await built.start()
    try:
        yield built
    finally:
        await built.close()


async def stored(services: Services, *profile_ids: str, also: tuple[IdentityRow, ...] = ()) -> None:
    for pid in profile_ids:
        identities = [IdentityRow("id", pid, pid)]
        await services.storage.tracking.commit_visit(
            VisitUnit(profile=new_profile(pid, NOW), identities=identities)
        )
    for row in also:
        await services.storage.tracking.commit_visit(VisitUnit(identities=[row]))


async def test_each_current_profile_is_changed_once_and_committed(services: Services) -> None:
    await stored(services, "p-a", "p-b", "p-c", also=(IdentityRow("id", "p-old", "p-a"),))
    calls: list[str] = []
    written: dict[str, str] = {}

    async def change(profile: Document, session: Document | None) -> Change:
        calls.append(profile["id"])
        if profile["id"] == "p-c":
            return Change()  # nothing to write
        profile["traits"]["seen"] = True
        events = segment_events(
            ["vip"], [], now=NOW, session=None, profile_id=profile["id"], request=REQUEST
        )
        written[profile["id"]] = events[0]["id"]
        return Change(profile=True, events=events)

    # p-old was merged into p-a: it is changed once, as p-a
    await services.tracker.updates.update_many(["p-old", "p-a", "p-b", "p-c"], change)

    assert calls == ["p-a", "p-b", "p-c"]
    tracking = services.storage.tracking
    for pid, seen in (("p-a", True), ("p-b", True), ("p-c", None)):
        profile = await tracking.get_profile(pid)
        assert profile is not None
        assert profile["traits"].get("seen") is seen
    assert sorted(written) == ["p-a", "p-b"]
    assert await tracking.existing_event_ids(list(written.values())) == set(written.values())


async def test_a_change_that_gains_a_merge_key_claims_it_on_its_own(services: Services) -> None:
    await stored(services, "p-a", "p-b")

    async def change(profile: Document, session: Document | None) -> Change:
        if profile["id"] == "p-b":
            profile["data"]["contact"]["email"]["main"] = "b@example.com"
        profile["traits"]["seen"] = True
        return Change(profile=True)

    await services.tracker.updates.update_many(["p-a", "p-b"], change)

    tracking = services.storage.tracking
    owners = await tracking.identity_owners([(EMAIL, "b@example.com")])
    assert owners == {(EMAIL, "b@example.com"): "p-b"}
    for pid in ("p-a", "p-b"):
        profile = await tracking.get_profile(pid)
        assert profile is not None and profile["traits"]["seen"] is True
