"""Rules and flows over the admin API, for the collector tests that use them."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient

Json = dict[str, Any]


def put_flow(
    client: TestClient,
    admin: dict[str, str],
    flow_id: str,
    nodes: list[Json],
    edges: list[Json],
    *,
    mode: str = "sync",
    deploy: bool = True,
) -> Json:
    response = client.put(
        f"/api/flows/{flow_id}",
        json={"name": flow_id, "mode": mode, "nodes": nodes, "edges": edges},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    if deploy:
        response = client.post(f"/api/flows/{flow_id}/deploy", headers=admin)
        assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def put_rule(
    client: TestClient, admin: dict[str, str], rule_id: str, flow: str, **fields: Any
) -> Json:
    response = client.put(f"/api/rules/{rule_id}", json={"flow": flow, **fields}, headers=admin)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def chain(*nodes: Json) -> list[Json]:
    """Edges start -> nodes[0] -> nodes[1] ... on default ports."""
    ids = ["start", *(node["id"] for node in nodes)]
    return [{"from": a, "to": b} for a, b in itertools.pairwise(ids)]
