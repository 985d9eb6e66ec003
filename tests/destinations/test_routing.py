"""Destinations compiled for the hot path: which events go where (pure logic)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kith.destinations.kinds.webhook import Webhook
from kith.destinations.registry import KindRegistry
from kith.destinations.routing import (
    DestinationDefaults,
    DestinationInvalid,
    Routing,
    compile_destination,
)

REGISTRY = KindRegistry([Webhook])


def route(**fields: Any) -> Any:
    document = {"id": "d", "kind": "webhook", "config": {"url": "http://x/hook"}, **fields}
    return compile_destination(document, REGISTRY, DestinationDefaults())


def event(event_type: str = "purchase", source: str = "web", **properties: Any) -> dict[str, Any]:
    return {"id": "e1", "type": event_type, "source": {"id": source}, "properties": properties}


def test_types_and_sources_filter_and_empty_means_any() -> None:
    assert route().matches(event())
    assert route(event_types=["purchase"]).matches(event())
    assert not route(event_types=["page-view"]).matches(event())
    assert route(sources=["web"]).matches(event())
    assert not route(sources=["app"]).matches(event())
    assert route(sources=[]).matches(event(source="@internal"))


def test_the_condition_reads_the_documents() -> None:
    big = route(condition="event@properties.total >= 100 AND profile@traits.vip == true")
    assert big.accepts({"event": event(total=150), "profile": {"traits": {"vip": True}}})
    assert not big.accepts({"event": event(total=150), "profile": {"traits": {}}})
    assert not big.accepts({"event": event(total=50)})


def test_the_body_is_the_mapping_or_event_and_profile() -> None:
    scope = {"event": event(total=3), "profile": {"id": "p1", "traits": {}}}
    assert orjson.loads(route().body(scope)) == scope
    assert orjson.loads(route().body({"profile": {"id": "p1"}})) == {"profile": {"id": "p1"}}
    mapped = route(mapping={"total": "event@properties.total", "phone?": "profile@x.phone"})
    assert orjson.loads(mapped.body(scope)) == {"total": 3}


def test_routing_indexes_enabled_event_routes_by_type_in_id_order() -> None:
    routes = [
        route(id="b", event_types=["purchase"]),
        route(id="a"),
        route(id="c", event_types=["page-view"]),
        route(id="off", enabled=False),
        route(id="p", on="profile"),
    ]
    routing = Routing.of(routes)
    assert [r.id for r in routing.for_event(event())] == ["a", "b"]
    assert [r.id for r in routing.for_event(event("page-view"))] == ["a", "c"]
    assert [r.id for r in routing.on_profile] == ["p"]
    assert set(routing.routes) == {"a", "b", "c", "off", "p"}


def test_every_problem_is_named() -> None:
    with pytest.raises(DestinationInvalid) as caught:
        route(condition="profile@a ==", mapping={"x": "{{oops"}, config={"url": "nope"})
    places = [loc for loc, _ in caught.value.problems]
    assert ("condition",) in places and ("mapping",) in places
    assert ("config", "url") in places
