"""Back-office merges and a person's identity index over HTTP, on both engines."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import (
    Headers,
    Json,
    all_events,
    get_json,
    get_profile,
    get_session,
    payload,
    track,
)

EMAIL = "data.contact.email.main"
CID = "data.identifier.id"


def identify(client: TestClient, session: str, **properties: Any) -> Json:
    return track(
        client, payload(session=session, events=[{"type": "identify", "properties": properties}])
    )


def merge(client: TestClient, admin: Headers, target: str, ids: list[str]) -> Any:
    return client.post(f"/api/profiles/{target}/merge", json={"ids": ids}, headers=admin)


def two_people(client: TestClient, prefix: str, email: str) -> tuple[str, str]:
    """X knows an e-mail and a name and viewed one page; Y, later, viewed two pages."""
    x_events = [
        {"type": "identify", "properties": {"email": email, "firstname": "Ann"}},
        {"type": "page-view"},
    ]
    x = track(client, payload(f"{prefix}-x", events=x_events))["profile"]["id"]
    y = track(client, payload(f"{prefix}-y", n_events=2))["profile"]["id"]
    return x, y


def shape(profile: Json, email: str) -> Json:
    """What a merge decided, without ids, times and the e-mail's own spelling."""
    kept = {k: v for k, v in profile.items() if k not in ("id", "ids", "metadata")}
    kept["data"]["contact"]["email"]["main"] = "<e-mail>" if email else None
    kept["visits"] = profile["metadata"]["time"]["visit"]["count"]
    return kept


def test_a_back_office_merge_gives_what_the_collector_gives(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    x, y = two_people(client, "auto", "auto@x.example")
    assert identify(client, "auto-y", email="auto@x.example")["profile"]["id"] == x
    automatic = get_profile(client, admin, x)

    x2, y2 = two_people(client, "manual", "manual@x.example")
    response = merge(client, admin, y2, [x2])  # asked from the younger one: the oldest survives
    assert response.status_code == 200, response.text
    assert response.json() == {"id": x2, "merged": [y2]}
    manual = get_profile(client, admin, y2)

    assert automatic is not None and manual is not None
    assert manual["id"] == x2 and set(manual["ids"]) == {x2, y2}
    assert set(automatic["ids"]) == {x, y}
    assert shape(manual, "manual@x.example") == shape(automatic, "auto@x.example")
    assert manual["stats"]["visits"] == 2 and manual["stats"]["views"] == 3
    for survivor, merged, prefix in ((x, y, "auto"), (x2, y2, "manual")):
        session = get_session(client, admin, f"{prefix}-y")
        assert session is not None and session["profile"] == {"id": survivor}
        events = all_events(client, admin, profile=survivor)
        assert {e["session"]["id"] for e in events if e["session"]} == {
            f"{prefix}-x",
            f"{prefix}-y",
        }
        merges = [e for e in events if e["type"] == "profile-merged"]
        assert [e["properties"]["merged"] for e in merges] == [[merged]]
    # the merged id resolves in the collector too
    assert track(client, payload("manual-z", profile=y2))["profile"]["id"] == x2


def test_the_identity_index_of_a_person(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    first = identify(client, "s1", email="Ann@Example.com", id="c-1")
    ann = first["profile"]["id"]
    second = identify(client, "s2", phone="+44 20 7946 0958")
    other = second["profile"]["id"]
    assert merge(client, admin, ann, [other]).status_code == 200

    body = get_json(client, admin, f"/api/profiles/{other}/identities")  # a merged id resolves
    entries = {(e["kind"], e["value"]): e for e in body["items"]}
    assert set(entries) == {
        ("id", ann),
        ("id", other),
        (EMAIL, "ann@example.com"),
        (CID, "c-1"),
        ("data.contact.phone.main", "+442079460958"),
    }
    assert entries[(EMAIL, "ann@example.com")]["event"] == first["events"][0]
    assert entries[(CID, "c-1")]["event"] == first["events"][0]
    assert entries[("data.contact.phone.main", "+442079460958")]["event"] == second["events"][0]
    assert entries[("id", ann)]["event"] is None
    assert all(e["claimed"] for e in entries.values())
    # claimed when the value was first seen, not when it moved in the merge
    assert entries[("id", ann)]["claimed"] <= entries[("id", other)]["claimed"]

    seen: list[Json] = []
    cursor = None
    while True:
        query = f"?limit=2{f'&cursor={cursor}' if cursor else ''}"
        page = get_json(client, admin, f"/api/profiles/{ann}/identities{query}")
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == body["items"]
    assert client.get("/api/profiles/nobody/identities", headers=admin).status_code == 404
    bad = client.get(f"/api/profiles/{ann}/identities?cursor=xyz", headers=admin)
    assert bad.status_code == 422


def test_a_back_office_merge_follows_the_limits(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    a = identify(client, "a", id="c-a")["profile"]["id"]
    b = identify(client, "b", id="c-b")["profile"]["id"]
    response = merge(client, admin, a, [b])
    assert response.status_code == 409, response.text
    (detail,) = response.json()["detail"]
    assert detail["rule"] == "limit" and detail["key"] == CID and detail["profile"] == b
    assert "c-a" not in response.text and "c-b" not in response.text
    (event,) = all_events(client, admin, type="merge-refused", profile=a)
    assert event["properties"] == {"key": CID, "rule": "limit", "profile": b, "via": None}
    assert get_profile(client, admin, b)["id"] == b  # type: ignore[index]


def test_a_back_office_merge_of_eleven_profiles_is_refused(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    people = [track(client, payload(f"p{n}"))["profile"]["id"] for n in range(11)]
    response = merge(client, admin, people[0], people[1:])
    assert response.status_code == 409, response.text
    assert {d["rule"] for d in response.json()["detail"]} == {"max_profiles_per_merge"}
    assert len(all_events(client, admin, type="merge-refused")) == 10
    assert merge(client, admin, people[0], people[1:10]).status_code == 200
    profile = get_profile(client, admin, people[5])
    assert profile is not None and len(profile["ids"]) == 10


def test_back_office_merge_edge_cases(client: TestClient, admin: Headers, web_source: str) -> None:
    a = track(client, payload("a"))["profile"]["id"]
    b = track(client, payload("b"))["profile"]["id"]
    assert merge(client, admin, a, ["nobody"]).status_code == 404
    assert merge(client, admin, "nobody", [a]).status_code == 404
    assert merge(client, admin, a, []).status_code == 422
    same = merge(client, admin, a, [a])
    assert same.status_code == 200 and same.json() == {"id": a, "merged": []}
    assert merge(client, admin, a, [b, b]).json() == {"id": a, "merged": [b]}
    again = merge(client, admin, b, [a])  # both ids now name one person
    assert again.status_code == 200 and again.json() == {"id": a, "merged": []}


def test_back_office_merges_and_collector_merges_at_once_end_in_one_profile(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    """Four people; two back-office merges (1 <- 0, 3 <- 2) and two collector merges
    (device 0 shows person 2's e-mail, device 2 person 0's), all at the same moment."""
    people = [identify(client, f"d{n}", email=f"p{n}@x.example")["profile"]["id"] for n in range(4)]

    def work(n: int) -> int:
        if n % 2:
            response = merge(client, admin, people[n], [people[n - 1]])
        else:
            body = [{"type": "identify", "properties": {"email": f"p{(n + 2) % 4}@x.example"}}]
            response = client.post("/track", json=payload(f"d{n}", events=body))
        return int(response.status_code)

    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(work, range(4))) == [200] * 4
    survivors = {get_json(client, admin, f"/api/profiles/{p}")["id"] for p in people}
    assert len(survivors) == 1
    profile = get_profile(client, admin, survivors.pop())
    assert profile is not None and set(profile["ids"]) == set(people)
    assert all_events(client, admin, type="merge-refused") == []
