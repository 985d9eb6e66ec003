"""Payload decoding and normalisation: any JSON is either a payload or a clear 422."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.domain.errors import InvalidPayload
from kith.domain.payload import (
    PayloadLimits,
    check_json,
    decode_batch,
    decode_payload,
    event_name,
    needs_json_check,
    normalise_event_type,
)

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


def _nested_bytes(depth: int) -> bytes:
    """`depth` levels of alternating objects and arrays, as raw JSON."""
    opened = b"".join(b'{"k":' if level % 2 else b"[" for level in range(depth))
    closed = b"".join(b"}" if level % 2 else b"]" for level in reversed(range(depth)))
    return opened + b"1" + closed


@settings(max_examples=200, deadline=None)
@given(depth=st.integers(1, 80), max_depth=st.integers(2, 40), field=st.sampled_from(["p", "c"]))
def test_nesting_is_accepted_exactly_up_to_the_limit(
    depth: int, max_depth: int, field: str
) -> None:
    inner = _nested_bytes(depth)
    if field == "p":  # an event's properties sit at level 4, their values at 5
        body = b'{"source":{"id":"a"},"events":[{"type":"t","properties":{"v":' + inner + b"}}]}"
        deepest = 4 + depth
    else:  # the payload's context sits at level 2
        body = b'{"source":{"id":"a"},"context":{"v":' + inner + b"}}"
        deepest = 2 + depth
    limits = PayloadLimits(max_depth=max_depth)
    if deepest <= max_depth:
        decode_payload(body, limits)
    else:
        with pytest.raises(InvalidPayload) as exc:
            decode_payload(body, limits)
        assert exc.value.detail[0]["type"] == "too_deep"


@pytest.mark.parametrize("number", [b"18446744073709551616", b"-9223372036854775809", b"1" * 400])
def test_integers_past_64_bits_are_a_located_422(number: bytes) -> None:
    body = b'{"source":{"id":"a"},"events":[{"type":"t","properties":{"n":[' + number + b"]}}]}"
    with pytest.raises(InvalidPayload) as exc:
        decode_payload(body, 1000)
    assert exc.value.detail[0]["loc"] == ["body", "events", 0, "properties", "n", 0]
    assert exc.value.detail[0]["type"] == "int_range"
    fits = (
        b'{"source":{"id":"a"},"context":{"n":18446744073709551615,"s":"1234567890123456789012"}}'
    )
    assert decode_payload(fits, 1000).context["n"] == 2**64 - 1


def test_absurd_nesting_is_a_422_not_a_recursion_error() -> None:
    body = b'{"source":{"id":"a"},"properties":{"v":' + b"[" * 50_000 + b"]" * 50_000 + b"}}"
    with pytest.raises(InvalidPayload):
        decode_payload(body, 1000)
    with pytest.raises(InvalidPayload):
        decode_batch(b"[" + body + b"]", 1000, 10)


def test_ids_types_and_properties_are_bounded() -> None:
    limits = PayloadLimits(max_id_length=5, max_type_length=3, max_properties=2)

    def loc_of(document: dict[str, Any]) -> list[str | int]:
        with pytest.raises(InvalidPayload) as exc:
            decode_payload(orjson.dumps(document), limits)
        loc: list[str | int] = exc.value.detail[0]["loc"]
        return loc

    assert loc_of({"source": {"id": "abcdef"}}) == ["body", "source", "id"]
    assert loc_of({"source": {"id": "a"}, "session": {"id": "abcdef"}}) == ["body", "session", "id"]
    assert loc_of({"source": {"id": "a"}, "profile": {"id": " abcdef "}}) == [
        "body",
        "profile",
        "id",
    ]
    events = [{"type": "abcd"}]
    assert loc_of({"source": {"id": "a"}, "events": events}) == ["body", "events", 0, "type"]
    events = [{"type": "t", "id": "abcdef"}]
    assert loc_of({"source": {"id": "a"}, "events": events}) == ["body", "events", 0, "id"]
    events = [{"type": "t", "properties": {"a": 1, "b": 2, "c": 3}}]
    assert loc_of({"source": {"id": "a"}, "events": events}) == ["body", "events", 0, "properties"]
    # trimmed before measuring; at the limit is fine
    decode_payload(orjson.dumps({"source": {"id": " abcde "}, "events": [{"type": " T "}]}), limits)


bracket_text = st.text(alphabet='{}[]"\\ab:,', max_size=12)
nested_values = st.recursive(
    st.integers(0, 9) | bracket_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(bracket_text, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400)
@given(nested_values, st.integers(1, 6))
def test_the_quick_scan_never_spares_a_body_the_walk_would_refuse(value: Any, depth: int) -> None:
    """Strings full of brackets, quotes and backslashes cannot hide nesting from the scan."""
    body = orjson.dumps(value)
    try:
        check_json(value, depth, ["body"])
    except InvalidPayload:
        assert needs_json_check(body, depth)


@pytest.mark.parametrize(
    "value",
    [
        {"]]]]": [[[[1]]]]},
        [[[{"]": [1]}, [1]], "x"], "{"],
        {"a": '\\"]]]]', "b": [[[[1]]]]},
        [{"x": "}}}}}}", "y": [[[["deep"]]]]}],
    ],
    ids=["brackets-in-a-key", "pairing-with-real-ones", "escaped-quote", "brackets-in-a-value"],
)
def test_brackets_in_strings_do_not_hide_nesting(value: Any) -> None:
    body = orjson.dumps(value)
    with pytest.raises(InvalidPayload):
        check_json(value, 4, ["body"])
    assert needs_json_check(body, 4)
