"""Concurrent requests for one person never create two profiles or lose an update."""

from __future__ import annotations

import asyncio
import uuid

import httpx2 as httpx

from tests.e2e.conftest import Server, create_source


def payload(session_id: str | None, profile_id: str | None = None) -> dict[str, object]:
    return {
        "source": {"id": "web-shop"},
        "session": {"id": session_id} if session_id else None,
        "profile": {"id": profile_id} if profile_id else None,
        "events": [{"type": "page-view"}],
    }


async def send_all(server: Server, payloads: list[dict[str, object]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(payloads))
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
        return list(await asyncio.gather(*(client.post("/track", json=p) for p in payloads)))


def test_40_concurrent_first_hits_of_one_new_session_make_one_profile(server: Server) -> None:
    create_source(server)
    session_id = str(uuid.uuid4())
    responses = asyncio.run(send_all(server, [payload(session_id) for _ in range(40)]))
    assert all(r.status_code == 200 for r in responses)
    profiles = {r.json()["profile"]["id"] for r in responses}
    assert len(profiles) == 1
    (profile_id,) = profiles
    profile = httpx.get(f"{server.url}/api/profiles/{profile_id}", headers=server.admin).json()
    assert profile["stats"]["visits"] == 1
    created = httpx.get(
        f"{server.url}/api/events",
        params={"type": "profile-created", "limit": 100},
        headers=server.admin,
    ).json()["items"]
    assert len(created) == 1


def test_60_concurrent_new_sessions_of_one_profile_count_60_visits(server: Server) -> None:
    create_source(server)
    first = httpx.post(f"{server.url}/track", json=payload(str(uuid.uuid4()))).json()
    profile_id = first["profile"]["id"]
    payloads = [payload(str(uuid.uuid4()), profile_id) for _ in range(60)]
    responses = asyncio.run(send_all(server, payloads))
    assert {r.json()["profile"]["id"] for r in responses} == {profile_id}
    profile = httpx.get(f"{server.url}/api/profiles/{profile_id}", headers=server.admin).json()
    assert profile["stats"]["visits"] == 61
    assert profile["metadata"]["time"]["visit"]["count"] == 61
