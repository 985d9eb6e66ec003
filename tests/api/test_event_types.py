"""Event types over HTTP: the library, overrides, validation modes and mappings via /track."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.helpers import (
    all_events,
    assert_validation_error,
    get_json,
    get_profile,
    payload,
    track,
)

Headers = dict[str, str]
LIBRARY = [
    "page-view", "identify", "sign-up", "sign-in", "profile-update", "consent-update",
    "product-view", "add-to-cart", "remove-from-cart", "checkout-started",
    "order-completed", "interest",
]  # fmt: skip


def put_type(client: TestClient, admin: Headers, name: str, **body: Any) -> dict[str, Any]:
    response = client.put(f"/api/event-types/{name}", json=body, headers=admin)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def one(client: TestClient, event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return track(client, payload(events=[event], **extra))


def test_the_library_is_active_out_of_the_box(client: TestClient, admin: Headers) -> None:
    listed = {t["type"]: t for t in get_json(client, admin, "/api/event-types")}
    for name in LIBRARY:
        assert listed[name]["builtin"] is True, name
        assert listed[name]["description"], name
    identify = get_json(client, admin, "/api/event-types/identify")
    assert {"from": "event@properties.email", "to": "profile@data.contact.email.main",
            "op": "set"} in identify["mapping"]  # fmt: skip


def test_page_view_counts_views(client: TestClient, admin: Headers, web_source: str) -> None:
    answer = track(client, payload(session="s1", n_events=3))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["stats"]["views"] == 3


def test_identify_writes_contact_data_and_the_field_log(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    answer = one(
        client,
        {"type": "Identify", "properties": {"email": "ann@example.com", "phone": "+48 601 000 000",
                                           "firstname": "Ann", "lastname": "Lee", "id": "c-1"}},
    )  # fmt: skip
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None
    assert profile["data"]["contact"]["email"]["main"] == "ann@example.com"
    assert profile["data"]["contact"]["phone"]["main"] == "+48 601 000 000"
    assert profile["data"]["pii"] == {"firstname": "Ann", "lastname": "Lee"}
    assert profile["data"]["identifier"]["id"] == "c-1"
    event_id = answer["events"][0]
    assert profile["metadata"]["fields"]["data.pii.firstname"]["event"] == event_id
    assert set(profile["metadata"]["fields"]) >= {
        "data.contact.email.main", "data.contact.phone.main", "data.identifier.id"
    }  # fmt: skip


def test_tracardi_nested_email_form(client: TestClient, admin: Headers, web_source: str) -> None:
    answer = one(client, {"type": "sign-up", "properties": {"email": {"main": "x@y.io"}}})
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["data"]["contact"]["email"]["main"] == "x@y.io"


def test_orders_and_carts(client: TestClient, admin: Headers, web_source: str) -> None:
    events = [
        {"type": "add-to-cart", "properties": {"id": "sku-1"}},
        {"type": "add-to-cart", "properties": {"id": "sku-2"}},
        {"type": "remove-from-cart", "properties": {"id": "sku-1"}},
        {"type": "order-completed", "properties": {"total": 20.5, "currency": "EUR"},
         "time": {"create": "2026-11-01T10:00:00Z"}},
        {"type": "order-completed", "properties": {"value": "9.5"}},
    ]  # fmt: skip
    answer = track(client, payload(session="s1", events=events))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None
    metrics = profile["data"]["metrics"]
    assert metrics["ltv"] == 30.0 and metrics["orders"] == 2 and metrics["currency"] == "EUR"
    assert metrics["last_order"] != "2026-11-01T10:00:00.000000Z"  # the later order wins
    assert profile["data"]["preferences"]["cart"] == []
    assert profile["stats"]["counters"] == {"add-to-cart": 2, "remove-from-cart": 1}


def test_interests_add_up(client: TestClient, admin: Headers, web_source: str) -> None:
    events = [
        {"type": "interest", "properties": {"interest": "running"}},
        {"type": "interest", "properties": {"interest": "running", "value": 2.5}},
        {"type": "interest", "properties": {"interest": "cycling"}},
    ]
    answer = track(client, payload(events=events))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["interests"] == {"running": 3.5, "cycling": 1}


def test_a_user_type_with_every_op(client: TestClient, admin: Headers, web_source: str) -> None:
    put_type(
        client, admin, "Plan Changed",
        description="Subscription plan changes",
        mapping=[
            {"from": "event@properties.plan", "to": "profile@traits.plan", "op": "set"},
            {"from": "event@properties.plan", "to": "profile@traits.first_plan",
             "op": "set_if_missing"},
            {"from": "event@properties.plan", "to": "profile@traits.plans", "op": "append_unique"},
            {"to": "profile@stats.counters.plan_changes", "op": "increment"},
            {"from": "event@properties.seats", "to": "profile@traits.seats", "op": "add"},
            {"from": "event@properties.dropped", "to": "profile@traits.plans", "op": "remove"},
            {"to": "profile@traits.trial", "op": "delete"},
        ],
    )  # fmt: skip
    first = one(client, {"type": "plan-changed", "properties": {"plan": "basic", "seats": 2}},
                session="s1")  # fmt: skip
    track(client, payload(session="s1", events=[
        {"type": "plan-changed", "properties": {"plan": "pro", "seats": 3, "dropped": "basic"}},
    ]))  # fmt: skip
    profile = get_profile(client, admin, first["profile"]["id"])
    assert profile is not None
    assert profile["traits"] == {"plan": "pro", "first_plan": "basic", "plans": ["pro"], "seats": 5}
    assert profile["stats"]["counters"]["plan_changes"] == 2


def test_store_mode_keeps_invalid_events_but_skips_their_mapping(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    put_type(
        client, admin, "score",
        schema={"type": "object", "required": ["points"],
                "properties": {"points": {"type": "integer"}}},
        mapping=[{"from": "event@properties.points", "to": "profile@traits.points", "op": "add"}],
    )  # fmt: skip
    answer = track(client, payload(session="s1", events=[
        {"type": "score", "properties": {"points": 3}},
        {"type": "score", "properties": {"points": "many"}},
    ]))  # fmt: skip
    good, bad = answer["events"]
    assert [error["event"] for error in answer["errors"]] == [bad]
    assert "points" in answer["errors"][0]["msg"]
    stored = get_json(client, admin, f"/api/events/{bad}")
    assert stored["metadata"]["valid"] is False and stored["metadata"]["error"]
    assert get_json(client, admin, f"/api/events/{good}")["metadata"]["valid"] is True
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["traits"]["points"] == 3


def test_reject_mode_refuses_the_payload_and_stores_nothing(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    put_type(client, admin, "score", on_invalid="reject",
             schema={"type": "object", "properties": {"points": {"type": "integer"}}})  # fmt: skip
    response = client.post("/track", json=payload(session="s-rej", events=[
        {"type": "page-view"},
        {"type": "score", "properties": {"points": "many"}},
    ]))  # fmt: skip
    assert_validation_error(response, ["body", "events", 1, "properties"])
    assert all_events(client, admin) == []
    assert client.get("/api/sessions/s-rej", headers=admin).status_code == 404


def test_overriding_and_restoring_a_builtin(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    builtin = get_json(client, admin, "/api/event-types/page-view")
    changed = put_type(client, admin, "page-view", **{**builtin, "mapping": [], "tags": ["x"]})
    assert changed["builtin"] is True and changed["tags"] == ["x"]
    answer = track(client, payload(session="s1"))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["stats"]["views"] == 0

    assert client.delete("/api/event-types/page-view", headers=admin).status_code == 204
    assert get_json(client, admin, "/api/event-types/page-view") == builtin
    track(client, payload(session="s1"))
    profile = get_profile(client, admin, answer["profile"]["id"])
    assert profile is not None and profile["stats"]["views"] == 1


def test_get_put_round_trip_and_missing_types(client: TestClient, admin: Headers) -> None:
    created = put_type(client, admin, "Newsletter Opened", tags=["email"], description="d")
    assert created["type"] == "newsletter-opened"
    again = put_type(client, admin, "newsletter-opened", **created)
    assert again == created
    assert client.get("/api/event-types/nothing-here", headers=admin).status_code == 404
    assert client.delete("/api/event-types/nothing-here", headers=admin).status_code == 404


def test_bad_definitions_are_422_naming_the_field(client: TestClient, admin: Headers) -> None:
    cases: list[tuple[dict[str, Any], list[str | int]]] = [
        ({"schema": {"type": "no-such-type"}}, ["body", "schema"]),
        ({"mapping": [{"from": "x", "to": "traits.a"}]}, ["body", "mapping", 0, "to"]),
        ({"mapping": [{"from": "x", "to": "profile@a"}, {"to": "profile@b", "op": "explode"}]},
         ["body", "mapping", 1, "op"]),
        ({"mapping": [{"from": "event@a..b", "to": "profile@a"}]}, ["body", "mapping", 0, "from"]),
        ({"on_invalid": "ignore"}, ["body", "on_invalid"]),
    ]  # fmt: skip
    for body, loc in cases:
        response = client.put("/api/event-types/broken", json=body, headers=admin)
        assert_validation_error(response, loc, check_text=False)
    assert client.get("/api/event-types/broken", headers=admin).status_code == 404


def test_a_rejected_payload_in_a_batch_stores_none_of_the_batch(
    client: TestClient, admin: Headers, web_source: str
) -> None:
    put_type(client, admin, "score", on_invalid="reject",
             schema={"type": "object", "properties": {"points": {"type": "integer"}}})  # fmt: skip
    batch = [
        payload(session="b-1", events=[{"type": "score", "properties": {"points": 1}}]),
        payload(session="b-2", events=[{"type": "score", "properties": {"points": "x"}}]),
    ]
    response = client.put("/track", json=batch)
    assert_validation_error(response, ["body", 1, "events", 0, "properties"])
    assert all_events(client, admin) == []
