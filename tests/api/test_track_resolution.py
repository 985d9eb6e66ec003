"""POST /track: profile and session resolution, visit counting and system events.

Black-box tests of API.md section 1, "Profile and session resolution": every
row of the resolution table, the visit-counting rule and the `@internal`
system events, observed only through HTTP (the collector and the admin reads).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kith.storage.ports import VisitUnit
from tests.api.helpers import (
    all_events,
    get_profile,
    get_session,
    new_source,
    parse_time,
    payload,
    track,
)

SYSTEM_TYPES = ["profile-created", "session-opened", "visit-started"]


@pytest.fixture
def crm_source(client: TestClient, admin: dict[str, str]) -> str:
    """A source whose payload profile ids are taken as given (static_profile_id)."""
    return new_source(client, admin, "crm", static_profile_id=True)


# --- no session id --------------------------------------------------------------


def test_no_session_id_generates_a_new_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    first = track(client, payload())
    second = track(client, payload())

    session_id = first["session"]["id"]
    assert isinstance(session_id, str) and session_id.strip()
    assert second["session"]["id"] != session_id
    session = get_session(client, admin, session_id)
    assert session is not None
    assert session["profile"] == {"id": first["profile"]["id"]}
    event = client.get(f"/api/events/{first['events'][0]}", headers=admin).json()
    assert event["session"] == {"id": session_id}


# --- session unknown ---------------------------------------------------------------


def test_unknown_session_without_profile_id_creates_profile_and_binds_session(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1"))

    profile_id = response["profile"]["id"]
    assert isinstance(profile_id, str) and profile_id.strip()
    assert response["session"] == {"id": "visit-1"}
    profile = get_profile(client, admin, profile_id)
    assert profile is not None
    assert profile["id"] == profile_id
    assert profile_id in profile["ids"]
    session = get_session(client, admin, "visit-1")
    assert session is not None
    assert session["profile"] == {"id": profile_id}
    event = client.get(f"/api/events/{response['events'][0]}", headers=admin).json()
    assert event["profile"] == {"id": profile_id}
    assert event["session"] == {"id": "visit-1"}


def test_unknown_session_with_known_profile_id_uses_that_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]

    response = track(client, payload(session="visit-2", profile=profile_id))

    assert response["profile"] == {"id": profile_id}
    assert response["session"] == {"id": "visit-2"}
    session = get_session(client, admin, "visit-2")
    assert session is not None and session["profile"] == {"id": profile_id}
    assert len(all_events(client, admin, type="profile-created")) == 1
    event = client.get(f"/api/events/{response['events'][0]}", headers=admin).json()
    assert event["profile"] == {"id": profile_id}


def merge_by_hand(client: TestClient, survivor: str, merged: str) -> None:
    """Record in the store what a merge leaves behind: `merged` now resolves to
    `survivor` and is listed in its `ids` (merging itself is the identity
    capability's; here only the resolution table is under test)."""
    storage = client.app.state.services.storage  # type: ignore[attr-defined]

    async def write() -> None:
        profile = await storage.tracking.get_profile(survivor)
        profile["ids"] = [*profile["ids"], merged]
        await storage.tracking.commit_visit(
            VisitUnit(profile=profile, identities=[("id", merged, survivor)])
        )

    client.portal.call(write)  # type: ignore[union-attr]


def merged_crm_profiles(client: TestClient) -> None:
    """Profiles crm-a (session s-a) and crm-b (session s-b) from the crm source,
    then crm-b merged into crm-a."""
    track(client, payload(source="crm", session="s-a", profile="crm-a"))
    track(client, payload(source="crm", session="s-b", profile="crm-b"))
    merge_by_hand(client, "crm-a", "crm-b")


def test_unknown_session_with_id_found_in_a_profiles_ids_uses_that_profile(
    client: TestClient, admin: dict[str, str], crm_source: str
) -> None:
    merged_crm_profiles(client)
    survivor = get_profile(client, admin, "crm-b")
    assert survivor is not None and survivor["id"] == "crm-a"

    response = track(client, payload(source="crm", session="s-c", profile="crm-b"))

    assert response["profile"] == {"id": "crm-a"}
    session = get_session(client, admin, "s-c")
    assert session is not None and session["profile"] == {"id": "crm-a"}
    assert get_profile(client, admin, "crm-a")["stats"]["visits"] == 2  # type: ignore[index]


def test_unknown_session_with_unknown_profile_id_creates_a_fresh_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1", profile="chosen-by-client"))

    profile_id = response["profile"]["id"]
    assert isinstance(profile_id, str) and profile_id.strip()
    assert profile_id != "chosen-by-client", "a client cannot choose profile ids"
    assert get_profile(client, admin, "chosen-by-client") is None
    profile = get_profile(client, admin, profile_id)
    assert profile is not None
    assert "chosen-by-client" not in profile["ids"]
    session = get_session(client, admin, "visit-1")
    assert session is not None and session["profile"] == {"id": profile_id}

    # the id is still unknown, so the next new session gets another fresh profile
    again = track(client, payload(session="visit-2", profile="chosen-by-client"))
    assert again["profile"]["id"] not in (profile_id, "chosen-by-client")
    assert get_profile(client, admin, "chosen-by-client") is None


def test_static_profile_id_source_creates_exactly_that_id_and_reuses_it(
    client: TestClient, admin: dict[str, str], crm_source: str
) -> None:
    first = track(client, payload(source="crm", session="visit-1", profile="crm-42"))

    assert first["profile"] == {"id": "crm-42"}
    profile = get_profile(client, admin, "crm-42")
    assert profile is not None
    assert profile["id"] == "crm-42"
    assert profile["ids"] == ["crm-42"]

    second = track(client, payload(source="crm", session="visit-2", profile="crm-42"))

    assert second["profile"] == {"id": "crm-42"}
    assert second["session"] == {"id": "visit-2"}
    session = get_session(client, admin, "visit-2")
    assert session is not None and session["profile"] == {"id": "crm-42"}
    profile = get_profile(client, admin, "crm-42")
    assert profile is not None
    assert profile["stats"]["visits"] == 2
    created = all_events(client, admin, type="profile-created")
    assert [e["profile"] for e in created] == [{"id": "crm-42"}]


def test_static_profile_id_source_without_profile_id_creates_a_fresh_profile(
    client: TestClient, admin: dict[str, str], crm_source: str
) -> None:
    response = track(client, payload(source="crm", session="visit-1"))

    profile_id = response["profile"]["id"]
    assert isinstance(profile_id, str) and profile_id.strip()
    assert get_profile(client, admin, profile_id) is not None


# --- session known ----------------------------------------------------------------


def test_known_session_keeps_its_profile_whatever_the_payload_says(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    owner = track(client, payload(session="visit-1"))["profile"]["id"]
    other = track(client, payload(session="visit-2"))["profile"]["id"]
    assert owner != other

    with_other = track(client, payload(session="visit-1", profile=other))
    with_unknown = track(client, payload(session="visit-1", profile="never-seen"))

    assert with_other["profile"] == {"id": owner}
    assert with_unknown["profile"] == {"id": owner}
    session = get_session(client, admin, "visit-1")
    assert session is not None and session["profile"] == {"id": owner}
    for response in (with_other, with_unknown):
        event = client.get(f"/api/events/{response['events'][0]}", headers=admin).json()
        assert event["profile"] == {"id": owner}
    assert len(all_events(client, admin, type="profile-created")) == 2
    assert get_profile(client, admin, "never-seen") is None


def test_known_session_ignores_the_payload_profile_id_on_a_static_source(
    client: TestClient, admin: dict[str, str], crm_source: str
) -> None:
    track(client, payload(source="crm", session="visit-1", profile="crm-1"))

    response = track(client, payload(source="crm", session="visit-1", profile="crm-2"))

    assert response["profile"] == {"id": "crm-1"}
    assert get_profile(client, admin, "crm-2") is None


def test_known_session_whose_profile_was_merged_is_rebound_to_the_survivor(
    client: TestClient, admin: dict[str, str], crm_source: str
) -> None:
    merged_crm_profiles(client)

    response = track(client, payload(source="crm", session="s-b"))

    assert response["profile"] == {"id": "crm-a"}
    session = get_session(client, admin, "s-b")
    assert session is not None and session["profile"] == {"id": "crm-a"}
    event = client.get(f"/api/events/{response['events'][0]}", headers=admin).json()
    assert event["profile"] == {"id": "crm-a"}


# --- profile_less -------------------------------------------------------------------


def test_profile_less_creates_no_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    response = track(client, payload(session="visit-1", profile="someone"), profile_less="true")

    assert response["profile"] == {"id": None}
    assert all_events(client, admin, type="profile-created") == []
    assert get_profile(client, admin, "someone") is None
    for event_id in response["events"]:
        event = client.get(f"/api/events/{event_id}", headers=admin).json()
        assert event["profile"] is None
        assert event["metadata"]["profile_less"] is True
    session = get_session(client, admin, "visit-1")
    if session is not None:
        assert not (session["profile"] or {}).get("id")


def test_profile_less_on_a_known_session_leaves_its_profile_untouched(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]
    before = get_profile(client, admin, profile_id)

    same_session = track(
        client, payload(session="visit-1", profile=profile_id), profile_less="true"
    )
    new_session = track(client, payload(session="visit-2", profile=profile_id), profile_less="true")

    for response in (same_session, new_session):
        assert response["profile"] == {"id": None}
        event = client.get(f"/api/events/{response['events'][0]}", headers=admin).json()
        assert event["profile"] is None
        assert event["metadata"]["profile_less"] is True
    assert get_profile(client, admin, profile_id) == before
    # the known session is not re-bound (nor unbound) by a profile-less payload
    session = get_session(client, admin, "visit-1")
    assert session is not None and session["profile"] == {"id": profile_id}


# --- visits -------------------------------------------------------------------------


def test_a_new_session_counts_a_visit(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]
    first = get_profile(client, admin, profile_id)
    assert first is not None
    visit = first["metadata"]["time"]["visit"]
    assert visit["count"] == 1
    assert visit["last"] is None
    assert isinstance(visit["current"], str)
    parse_time(visit["current"], require_utc=True)
    assert first["stats"]["visits"] == 1

    track(client, payload(session="visit-2", profile=profile_id))

    second = get_profile(client, admin, profile_id)
    assert second is not None
    visit2 = second["metadata"]["time"]["visit"]
    assert visit2["count"] == 2
    assert visit2["last"] == visit["current"]
    assert parse_time(visit2["current"], require_utc=True) >= parse_time(
        visit2["last"], require_utc=True
    )
    assert second["stats"]["visits"] == 2


def test_a_known_session_does_not_count_a_visit(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]
    first = get_profile(client, admin, profile_id)
    assert first is not None

    track(client, payload(session="visit-1"))
    track(client, payload(session="visit-1", profile=profile_id))

    later = get_profile(client, admin, profile_id)
    assert later is not None
    assert later["metadata"]["time"]["visit"] == first["metadata"]["time"]["visit"]
    assert later["stats"]["visits"] == 1


# --- system events ------------------------------------------------------------------


def test_first_visit_stores_system_events_under_internal_source(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    body = payload(session="visit-1", events=[{"type": "page-view"}, {"type": "product-view"}])

    response = track(client, body)

    profile_id = response["profile"]["id"]
    internal = all_events(client, admin, source="@internal")
    assert sorted(e["type"] for e in internal) == SYSTEM_TYPES
    for event in internal:
        assert event["source"] == {"id": "@internal"}
        assert event["profile"] == {"id": profile_id}
        assert event["session"] == {"id": "visit-1"}
        assert event["id"] not in response["events"]
    # the response lists only the payload's own events, in payload order
    assert len(response["events"]) == 2
    own = [client.get(f"/api/events/{i}", headers=admin).json() for i in response["events"]]
    assert [e["type"] for e in own] == ["page-view", "product-view"]
    assert all(e["source"] == {"id": "web-shop"} for e in own)
    assert len(all_events(client, admin, session="visit-1")) == 5


def test_later_visits_store_only_the_system_events_that_apply(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    profile_id = track(client, payload(session="visit-1"))["profile"]["id"]

    track(client, payload(session="visit-1"))
    assert len(all_events(client, admin, source="@internal")) == 3, "known session: none"

    track(client, payload(session="visit-2", profile=profile_id))
    new_visit = all_events(client, admin, source="@internal", session="visit-2")
    assert sorted(e["type"] for e in new_visit) == ["session-opened", "visit-started"]
    assert all(e["profile"] == {"id": profile_id} for e in new_visit)
    assert len(all_events(client, admin, type="profile-created")) == 1
