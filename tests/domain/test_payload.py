"""Payload decoding and normalisation: any JSON is either a payload or a clear 422."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.domain.errors import InvalidPayload
from kith.domain.payload import decode_batch, decode_payload, event_name, normalise_event_type

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def payload_like() -> st.SearchStrategy[dict[str, Any]]:
    """Payload-shaped objects whose every field may hold any JSON value."""
    event = st.fixed_dictionaries(
        {},
        optional={
            "type": json_values | st.text(max_size=30),
            "id": json_values,
            "properties": json_values,
            "context": json_values,
            "tags": json_values,
            "time": json_values | st.just({"create": "2026-01-01T10:00:00Z"}),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "source": json_values | st.just({"id": "web-shop"}),
            "session": json_values | st.just({"id": " s1 "}),
            "profile": json_values,
            "context": json_values,
            "properties": json_values,
            "events": st.lists(event, max_size=4) | json_values,
            "options": json_values,
        },
    )


@settings(max_examples=600, deadline=None)
@given(payload_like())
def test_any_payload_decodes_or_is_a_422_with_locations(document: dict[str, Any]) -> None:
    try:
        payload = decode_payload(orjson.dumps(document), 1000)
    except InvalidPayload as exc:
        assert isinstance(exc.detail, list) and exc.detail
        for item in exc.detail:
            assert set(item) == {"loc", "msg", "type"}
            assert item["loc"][0] == "body"
        return
    assert payload.source.id == payload.source.id.strip().lower() != ""
    for event in payload.events:
        assert event.type and event.type == normalise_event_type(event.type)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_a_422(body: bytes) -> None:
    with contextlib.suppress(InvalidPayload):
        decode_payload(body, 1000)


@pytest.mark.parametrize(
    ("raw", "normal", "name"),
    [
        ("page-view", "page-view", "Page View"),
        ("  Order Completed ", "order-completed", "Order Completed"),
        ("Add  To\tCart", "add-to-cart", "Add To Cart"),
        ("SIGN_UP", "sign_up", "Sign Up"),
    ],
)
def test_event_type_normalisation(raw: str, normal: str, name: str) -> None:
    assert normalise_event_type(raw) == normal
    assert event_name(normal) == name


def test_event_limit_and_batch_limit_name_the_field() -> None:
    body = orjson.dumps({"source": {"id": "a"}, "events": [{"type": "x"}] * 4})
    with pytest.raises(InvalidPayload) as exc:
        decode_payload(body, 3)
    assert exc.value.detail[0]["loc"] == ["body", "events"]
    batch = orjson.dumps([{"source": {"id": "a"}}] * 3)
    with pytest.raises(InvalidPayload):
        decode_batch(batch, 3, 2)
    with pytest.raises(InvalidPayload) as exc:
        decode_batch(orjson.dumps([{"source": {"id": "a"}}, {"source": {"id": 5}}]), 3, 5)
    assert exc.value.detail[0]["loc"] == ["body", 1, "source", "id"]
