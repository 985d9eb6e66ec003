"""docs/flows.md stays true: every node type is documented, the generated node
reference is up to date, and the worked example runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient

from kith.workflows.docs import END, generated_part, own_nodes, reference
from kith.workflows.registry import NodeRegistry
from tests.receivers import smtp_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"
HTTP_BLOCK = re.compile(r"```http\n(?P<method>[A-Z]+) (?P<path>\S+)\n(?P<body>.*?)```", re.DOTALL)
JSON_BLOCK = re.compile(r"```json\n(?P<body>.*?)```", re.DOTALL)


def test_every_node_type_kith_ships_is_documented() -> None:
    text = DOC.read_text()
    registry = NodeRegistry.installed()
    for name in registry.types():
        assert f"### `{name}`" in text, f"{name} is not in docs/flows.md"
    assert {node.type for node in own_nodes(registry)} == set(registry.types())
    for node in own_nodes(registry):
        assert node.docs() and node.docs()[0].isupper(), node.type


def test_the_generated_node_reference_is_up_to_date() -> None:
    text = DOC.read_text()
    assert generated_part(text) == reference(NodeRegistry.installed()), (
        "docs/flows.md is stale: run `make docs`"
    )
    assert text.rstrip().endswith(END)


def worked_example() -> tuple[list[tuple[str, str, Any]], Any]:
    """The example's requests (method, path, body) and the answer it shows."""
    section = DOC.read_text().split("## A worked example", 1)[1].split("\n## ", 1)[0]
    requests = [
        (m["method"], m["path"], orjson.loads(m["body"]) if m["body"].strip() else None)
        for m in HTTP_BLOCK.finditer(section)
    ]
    (answer,) = [orjson.loads(m["body"]) for m in JSON_BLOCK.finditer(section)]
    return requests, answer


def test_the_worked_example_runs_as_written(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    requests, shown = worked_example()
    assert [method for method, _, _ in requests] == ["PUT", "POST", "PUT"] * 2 + ["POST"]
    with smtp_server() as mailbox:
        answer: dict[str, Any] = {}
        for method, path, body in requests:
            if path == "/api/flows/tell-the-team":  # the test's own mail server
                (mail,) = [node for node in body["nodes"] if node["type"] == "send-email"]
                mail["config"].update(host="127.0.0.1", port=mailbox.port, tls="none")
                del mail["config"]["user"], mail["config"]["password"]
            headers = {} if path == "/track" else admin
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 200, (path, response.text)
            answer = response.json()
        ((sender, recipients, message),) = mailbox.wait_for(1, seconds=20)
    assert {key: answer[key] for key in ("ux", "response", "errors")} == {
        key: shown[key] for key in ("ux", "response", "errors")
    }
    assert answer["session"] == shown["session"]
    profile = client.get(f"/api/profiles/{answer['profile']['id']}", headers=admin).json()
    assert "big-spender" in profile["segments"]
    assert profile["stats"]["counters"]["big_orders"] == 1
    (event_id,) = answer["events"]
    assert (sender, recipients) == ("kith@example.com", ["sales@example.com"])
    assert message["Subject"] == "Big order: 250 EUR"
    text = message.get_payload(decode=True)
    assert isinstance(text, bytes)
    expected = f"Order {event_id} of 250 EUR by profile {answer['profile']['id']}."
    assert text.decode().strip() == expected
