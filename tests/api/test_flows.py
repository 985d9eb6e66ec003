"""Rules and sync flows through the collector, on both engines (API.md section 5)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.flow_helpers import chain, put_flow, put_rule
from tests.api.helpers import all_events, get_json, payload, track

START = {"id": "start", "type": "start"}


def welcome_flow(client: TestClient, admin: dict[str, str], *, deploy: bool = True) -> None:
    nodes = [
        START,
        {"id": "big", "type": "if", "config": {"condition": "event@properties.total >= 100"}},
        {"id": "vip", "type": "add-segment", "config": {"segment": "big-spender"}},
        {"id": "tier", "type": "set", "config": {"set": {"profile@traits.tier": "gold"}}},
        {"id": "count", "type": "increment", "config": {"field": "profile@stats.counters.big"}},
        {"id": "hello", "type": "ux",
         "config": {"tag": "div", "props": {"class": "hello"},
                    "content": "Thanks {{profile@data.pii.firstname|default:'friend'}}"}},
        {"id": "answer", "type": "response",
         "config": {"key": "tier", "value": "profile@traits.tier"}},
    ]  # fmt: skip
    edges = [
        {"from": "start", "to": "big"},
        {"from": "big", "port": "true", "to": "vip"},
        {"from": "vip", "to": "tier"},
        {"from": "tier", "to": "count"},
        {"from": "count", "to": "hello"},
        {"from": "hello", "to": "answer"},
    ]
    put_flow(client, admin, "welcome", nodes, edges, deploy=deploy)
    put_rule(client, admin, "welcome-buyers", "welcome", event_type="order-completed")


def order(total: float) -> list[dict[str, Any]]:
    return [{"type": "order-completed", "properties": {"total": total, "currency": "EUR"}}]


def test_a_deployed_sync_flow_answers_and_changes_the_stored_profile(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    welcome_flow(client, admin)
    answer = track(client, payload("s1", events=order(250)))
    assert answer["ux"] == [{"tag": "div", "props": {"class": "hello"}, "content": "Thanks friend"}]
    assert answer["response"] == {"tier": "gold"} and answer["errors"] == []
    profile = get_json(client, admin, f"/api/profiles/{answer['profile']['id']}")
    assert profile["traits"]["tier"] == "gold"
    assert profile["segments"] == ["big-spender"]
    assert profile["stats"]["counters"]["big"] == 1
    assert profile["data"]["metrics"]["ltv"] == 250  # the event type's mapping ran too
    small = track(client, payload("s1", events=order(20)))
    assert small["ux"] == [] and small["response"] == {}


def test_a_draft_does_not_run_until_deployed(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    welcome_flow(client, admin, deploy=False)
    assert track(client, payload("s1", events=order(250)))["ux"] == []
    flow = get_json(client, admin, "/api/flows/welcome")
    assert flow["version"] == 1 and flow["deployed_version"] is None
    client.post("/api/flows/welcome/deploy", headers=admin)
    assert track(client, payload("s1", events=order(250)))["response"] == {"tier": "gold"}
    # a new draft does not change what runs until it is deployed in its turn
    nodes = [START, {"id": "r", "type": "response", "config": {"key": "v", "value": 2}}]
    put_flow(client, admin, "welcome", nodes, chain(nodes[1]), deploy=False)
    flow = get_json(client, admin, "/api/flows/welcome")
    assert (flow["version"], flow["deployed_version"]) == (2, 1)
    assert track(client, payload("s1", events=order(250)))["response"] == {"tier": "gold"}
    versions = client.get("/api/flows/welcome/versions", headers=admin).json()
    assert [v["version"] for v in versions] == [1]


def test_debug_runs_the_draft_and_stores_nothing(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    welcome_flow(client, admin, deploy=False)
    event = {"type": "order-completed", "properties": {"total": 500}}
    response = client.post(
        "/api/flows/welcome/debug",
        json={"event": event, "profile": {"id": "someone", "traits": {}}},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [step["node"] for step in body["trace"]] == [
        "start", "big", "vip", "tier", "count", "hello", "answer"
    ]  # fmt: skip
    assert body["trace"][1]["output_port"] == "true"
    assert body["profile"]["traits"]["tier"] == "gold" and body["response"] == {"tier": "gold"}
    assert client.get("/api/profiles/someone", headers=admin).status_code == 404
    assert all_events(client, admin) == []


def test_two_rules_on_one_event_run_in_order_and_see_each_other(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    first = [START, {"id": "a", "type": "set", "config": {"set": {"profile@traits.step": 1}}}]
    second = [
        START,
        {"id": "b", "type": "increment", "config": {"field": "profile@traits.step", "by": 10}},
        {"id": "r", "type": "response", "config": {"key": "step", "value": "profile@traits.step"}},
    ]
    put_flow(client, admin, "one", first, chain(*first[1:]))
    put_flow(client, admin, "two", second, chain(*second[1:]))
    put_rule(client, admin, "b-second", "two", event_type="page-view")
    put_rule(client, admin, "a-first", "one", event_type="page-view")
    answer = track(client, payload("s1"))
    assert answer["response"] == {"step": 11}


def test_rules_fire_on_system_events_and_filter_by_source_and_condition(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    nodes = [START, {"id": "c", "type": "increment", "config": {"field": "profile@traits.n"}}]
    put_flow(client, admin, "count", nodes, chain(nodes[1]))
    put_rule(client, admin, "created", "count", event_type="profile-created")
    put_rule(client, admin, "internal-only", "count", event_type="visit-started",
             source="web-shop")  # fmt: skip
    put_rule(client, admin, "big", "count", event_type="page-view",
             condition="event@properties.size > 3")  # fmt: skip
    first = track(client, payload("s1", events=[{"type": "page-view", "properties": {"size": 1}}]))
    second = track(client, payload("s1", events=[{"type": "page-view", "properties": {"size": 5}}]))
    assert first["profile"]["id"] == second["profile"]["id"]
    profile = get_json(client, admin, f"/api/profiles/{first['profile']['id']}")
    assert profile["traits"]["n"] == 2  # profile-created once, the big page view once


def test_a_failing_sync_flow_keeps_the_events_and_says_so(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    nodes = [START, {"id": "oops", "type": "error", "config": {"message": "no {{event@type}}"}}]
    put_flow(client, admin, "broken", nodes, chain(nodes[1]))
    put_rule(client, admin, "always", "broken", event_type="page-view")
    answer = track(client, payload("s1"))
    assert answer["errors"] == [{"flow": "broken", "node": "oops", "msg": "no page-view"}]
    stored = all_events(client, admin, type="page-view")
    assert [event["id"] for event in stored] == answer["events"]
    runs = client.get("/api/flows/broken/runs", headers=admin).json()
    assert runs[0]["errors"] == answer["errors"] and runs[0]["rule"] == "always"


def test_a_set_node_writing_an_email_merges_like_identify(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    known = track(client, payload("s1", events=[
        {"type": "identify", "properties": {"email": "ann@example.com"}}]))  # fmt: skip
    nodes = [
        START,
        {"id": "mail", "type": "set",
         "config": {"set": {"profile@data.contact.email.main": "event@properties.mail"}}},
    ]  # fmt: skip
    put_flow(client, admin, "capture", nodes, chain(nodes[1]))
    put_rule(client, admin, "newsletter", "capture", event_type="newsletter-signup")
    other = track(client, payload("s2"))
    assert other["profile"]["id"] != known["profile"]["id"]
    signup = [{"type": "newsletter-signup", "properties": {"mail": "Ann@Example.com"}}]
    merged = track(client, payload("s2", events=signup))
    assert merged["profile"]["id"] == known["profile"]["id"]
    profile = get_json(client, admin, f"/api/profiles/{other['profile']['id']}")
    assert profile["id"] == known["profile"]["id"] and other["profile"]["id"] in profile["ids"]


def test_saving_a_broken_flow_or_rule_is_422(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    cyclic = {
        "nodes": [START, {"id": "a", "type": "log"}, {"id": "b", "type": "log"}],
        "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "b"},
                  {"from": "b", "to": "a"}],
    }  # fmt: skip
    response = client.put("/api/flows/bad", json=cyclic, headers=admin)
    assert response.status_code == 422 and "cycle" in response.text
    unknown = {"nodes": [START, {"id": "x", "type": "teleport"}], "edges": []}
    response = client.put("/api/flows/bad", json=unknown, headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "nodes", 1, "type"]
    assert "'x'" in response.json()["detail"][0]["msg"]
    nodes = [START, {"id": "r", "type": "response", "config": {"key": "a", "value": 1}}]
    put_flow(client, admin, "ok", nodes, chain(nodes[1]))
    response = client.put(
        "/api/rules/r", json={"flow": "ok", "condition": "event@a = = 1"}, headers=admin
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "condition"]
    assert "line 1, column" in response.json()["detail"][0]["msg"]
    response = client.put("/api/rules/r", json={"flow": "missing"}, headers=admin)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "flow"]


def test_nodes_are_listed_with_ports_schemas_and_docs(
    client: TestClient, admin: dict[str, str]
) -> None:
    nodes = {node["type"]: node for node in client.get("/api/nodes", headers=admin).json()}
    assert nodes["if"]["ports"] == ["true", "false"]
    assert "condition" in nodes["if"]["config_schema"]["properties"]
    assert all(node["docs"] for node in nodes.values())


def test_node_secrets_are_write_only(
    client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    mail = {
        "id": "mail", "type": "send-email",
        "config": {"host": "smtp.example", "user": "kith", "password": "s3cret",
                   "from": "kith@example.com", "to": "team@example.com",
                   "subject": "hi", "body": "hello"},
    }  # fmt: skip
    put_flow(client, admin, "mailer", [START, mail], chain(mail), mode="async")
    shown = get_json(client, admin, "/api/flows/mailer")
    assert shown["nodes"][1]["config"]["password"] == "***"
    assert "s3cret" not in client.get("/api/flows", headers=admin).text
    assert "s3cret" not in client.get("/api/flows/mailer/versions", headers=admin).text
    # read-modify-write: the secret sent back as *** keeps its value
    shown["name"] = "renamed"
    response = client.put("/api/flows/mailer", json=shown, headers=admin)
    assert response.status_code == 200, response.text
    stored = client.app.state.services.configs.of("flow")  # type: ignore[attr-defined]
    document = client.portal.call(stored.all)["mailer"]  # type: ignore[union-attr]
    assert document["nodes"][1]["config"]["password"] == "s3cret"
    assert document["name"] == "renamed"
