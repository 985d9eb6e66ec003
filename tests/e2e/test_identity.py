"""Identity end to end against a real `kith serve`: one person, one profile.

The scenarios of issue 5, including devices identifying at the same moment,
where the merge has to be correct under real concurrency."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx2 as httpx

from tests.e2e.conftest import Server, create_source

Json = dict[str, Any]


def body(session: str | None, events: list[Json], *, source: str = "web-shop",
         profile: str | None = None) -> Json:  # fmt: skip
    payload: Json = {"source": {"id": source}, "events": events}
    if session:
        payload["session"] = {"id": session}
    if profile:
        payload["profile"] = {"id": profile}
    return payload


def identify(**properties: Any) -> list[Json]:
    return [{"type": "identify", "properties": properties}]


def page_view() -> list[Json]:
    return [{"type": "page-view"}]


def post(server: Server, payload: Json) -> Json:
    response = httpx.post(f"{server.url}/track", json=payload, timeout=30)
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def profile_of(server: Server, profile_id: str) -> Json:
    response = httpx.get(f"{server.url}/api/profiles/{profile_id}", headers=server.admin)
    assert response.status_code == 200, response.text
    found: Json = response.json()
    return found


def events_of(server: Server, profile_id: str) -> list[Json]:
    response = httpx.get(
        f"{server.url}/api/events",
        params={"profile": profile_id, "limit": 1000},
        headers=server.admin,
    )
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


async def send_all(server: Server, payloads: list[Json]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(payloads))
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
        return list(await asyncio.gather(*(client.post("/track", json=p) for p in payloads)))


def test_two_devices_one_email_give_one_profile_with_everything(server: Server) -> None:
    create_source(server)
    phone = post(server, body("phone", identify(email="ann@example.com", firstname="Ann")))
    post(server, body("phone", page_view()))
    laptop = post(server, body("laptop", page_view()))
    merged = post(server, body("laptop", identify(email="ANN@example.com", lastname="Lee")))

    survivor = phone["profile"]["id"]
    assert merged["profile"]["id"] == survivor
    profile = profile_of(server, laptop["profile"]["id"])  # the old id resolves
    assert profile["id"] == survivor
    assert profile["stats"]["visits"] == 2
    assert profile["data"]["pii"] == {"firstname": "Ann", "lastname": "Lee"}
    sessions = {e["session"]["id"] for e in events_of(server, survivor)}
    assert sessions == {"phone", "laptop"}
    own = [e for e in events_of(server, survivor) if e["source"]["id"] == "web-shop"]
    assert len(own) == 4


def test_email_of_a_and_phone_of_b_make_one_of_three(server: Server) -> None:
    create_source(server)
    a = post(server, body("a", identify(email="a@x.io")))["profile"]["id"]
    b = post(server, body("b", identify(phone="+1 650 253 0000")))["profile"]["id"]
    c = post(server, body("c", identify(email="a@x.io", phone="+16502530000")))["profile"]["id"]
    assert c == a
    profile = profile_of(server, b)
    assert profile["id"] == a and len(profile["ids"]) == 3
    assert profile["stats"]["visits"] == 3


def test_static_backend_and_anonymous_web_do_not_inflate_visits(server: Server) -> None:
    create_source(server)
    create_source(server, "crm", static_profile_id=True)
    web = post(server, body("w1", identify(email="kim@example.com")))["profile"]["id"]
    for _ in range(3):
        answer = post(server, body(None, identify(email="kim@example.com"), source="crm",
                                   profile="crm-kim"))  # fmt: skip
        assert answer["profile"]["id"] == web
    profile = profile_of(server, "crm-kim")
    assert profile["id"] == web and profile["stats"]["visits"] == 1


def test_devices_identifying_at_the_same_moment_give_exactly_one_profile(server: Server) -> None:
    create_source(server)
    devices = [f"device-{uuid.uuid4()}" for _ in range(12)]  # more ids than one merge joins
    for device in devices:  # every device has its own anonymous profile first
        post(server, body(device, page_view()))
    email = f"{uuid.uuid4()}@example.com"
    storm = [body(device, identify(email=email)) for device in devices]
    storm += [body(device, page_view()) for device in devices]  # and keeps browsing meanwhile
    responses = asyncio.run(send_all(server, storm))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]

    ids = {profile_of(server, r.json()["profile"]["id"])["id"] for r in responses}
    assert len(ids) == 1
    (survivor,) = ids
    profile = profile_of(server, survivor)
    assert profile["stats"]["visits"] == len(devices)
    assert profile["stats"]["views"] == 2 * len(devices)
    assert len(profile["ids"]) == len(devices)
    events = events_of(server, survivor)
    assert {e["session"]["id"] for e in events} == set(devices)
    assert all(e["profile"]["id"] == survivor for e in events)


def test_an_old_id_keeps_resolving_in_track_after_the_merge(server: Server) -> None:
    create_source(server)
    first = post(server, body("s1", identify(email="old@id.io")))["profile"]["id"]
    second = post(server, body("s2", page_view()))["profile"]["id"]
    post(server, body("s2", identify(email="old@id.io")))
    answer = post(server, body("s3", page_view(), profile=second))
    assert answer["profile"]["id"] == first
    assert profile_of(server, first)["stats"]["visits"] == 3


def chain_person(per_key: int = 3) -> tuple[list[str], list[Json]]:
    """One person's devices and payloads: `per_key` devices identifying by e-mail,
    as many by phone, as many by customer id, and two events bridging them
    (e-mail + phone, phone + id)."""
    email, cid = f"{uuid.uuid4().hex}@example.com", uuid.uuid4().hex
    phone = f"+1 650 {random.randint(200, 999)} {random.randint(1000, 9999)}"
    devices = [str(uuid.uuid4()) for _ in range(3 * per_key)]
    keys = [{"email": email}] * per_key + [{"phone": phone}] * per_key + [{"id": cid}] * per_key
    payloads = [body(d, [*identify(**k), *page_view()]) for d, k in zip(devices, keys, strict=True)]
    payloads += [body(devices[0], identify(email=email, phone=phone)),
                 body(devices[per_key], identify(phone=phone, id=cid))]  # fmt: skip
    return devices, payloads


def assert_one_person(server: Server, devices: list[str]) -> None:
    survivors = {profile_of(server, session_profile(server, device))["id"] for device in devices}
    assert len(survivors) == 1, survivors
    profile = profile_of(server, survivors.pop())
    assert profile["stats"]["visits"] == len(devices)
    assert profile["stats"]["views"] == len(devices)
    assert len(profile["ids"]) == len(devices)


def chain_storm(server: Server, send: Any, *, people: int = 1, per_key: int = 3) -> None:
    """Every device of `people` people identifying at once, in random order."""
    persons = [chain_person(per_key) for _ in range(people)]
    payloads = [p for _, person_payloads in persons for p in person_payloads]
    random.shuffle(payloads)
    send(payloads)
    for devices, _ in persons:
        assert_one_person(server, devices)


def session_profile(server: Server, session_id: str) -> str:
    response = httpx.get(f"{server.url}/api/sessions/{session_id}", headers=server.admin)
    assert response.status_code == 200, response.text
    return str(response.json()["profile"]["id"])


def test_chains_of_keys_merged_at_the_same_moment_give_one_profile(server: Server) -> None:
    """A plan needing two owners must hold both at once: this failed about one round
    in eight when a retry traded the lock of one owner for the other's."""
    create_source(server)

    def send(payloads: list[Json]) -> None:
        responses = asyncio.run(send_all(server, payloads))
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]

    for _ in range(12):
        chain_storm(server, send)
    chain_storm(server, send, people=3, per_key=4)  # 12 devices each, three people at once
