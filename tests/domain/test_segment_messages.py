"""Decoding the Segment / RudderStack wire format: shapes, ids, times, limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from kith.domain.errors import InvalidPayload, PayloadTooLarge
from kith.domain.external_identity import ExternalIdentity, external_profile_id
from kith.domain.segment_messages import (
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    decode_batch,
    decode_message,
    message_from_query,
)

DEPTH = 32


def batch(*messages: dict[str, Any], **envelope: Any) -> bytes:
    return orjson.dumps({"batch": list(messages), **envelope})


def test_a_batch_keeps_order_trims_ids_and_stringifies_numbers() -> None:
    delivery = decode_batch(
        batch(
            {"type": "Track", "userId": 42, "event": " Signed Up ", "messageId": " m1 "},
            {"type": "identify", "anonymousId": " a1 ", "userId": "  ", "traits": {"x": 1}},
            writeKey=" web ",
        ),
        DEPTH,
    )
    first, second = delivery.messages
    assert (first.type, first.user_id, first.event, first.message_id) == (
        "track",
        "42",
        "Signed Up",
        "m1",
    )
    assert (second.type, second.anonymous_id, second.user_id) == ("identify", "a1", None)
    assert second.traits == {"x": 1}
    assert second.at == ["body", "batch", 1]
    assert delivery.write_key == "web"


def test_times_are_utc_and_the_batch_sent_at_and_context_apply_to_each_message() -> None:
    delivery = decode_batch(
        batch(
            {"type": "page", "anonymousId": "a", "timestamp": "2026-01-01T10:00:00"},
            {
                "type": "page",
                "anonymousId": "a",
                "originalTimestamp": "2026-01-01T11:00:00+01:00",
                "sentAt": "2026-01-01T10:00:09Z",
                "context": {"ip": "1.2.3.4"},
            },
            sentAt="2026-01-01T10:00:05.5Z",
            context={"library": {"name": "x"}, "ip": "9.9.9.9"},
        ),
        DEPTH,
    )
    first, second = delivery.messages
    assert first.timestamp == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert first.sent_at == datetime(2026, 1, 1, 10, 0, 5, 500000, tzinfo=UTC)
    assert second.timestamp == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert second.sent_at == datetime(2026, 1, 1, 10, 0, 9, tzinfo=UTC)
    assert first.context == {"library": {"name": "x"}, "ip": "9.9.9.9"}
    assert second.context == {"library": {"name": "x"}, "ip": "1.2.3.4"}


def test_a_single_message_takes_its_type_from_the_path() -> None:
    body = orjson.dumps({"type": "page", "userId": "u", "event": "Clicked", "writeKey": "k"})
    delivery = decode_message(body, "track", DEPTH)
    assert delivery.messages[0].type == "track"
    assert delivery.write_key == "k"


@pytest.mark.parametrize(
    ("message", "where", "text"),
    [
        ({"type": "track", "event": "x"}, ["body", "batch", 0], "userId or an anonymousId"),
        ({"type": "track", "userId": "u"}, ["body", "batch", 0, "event"], "event name"),
        ({"type": "track", "userId": "u", "event": "  "}, ["body", "batch", 0, "event"], "event"),
        ({"type": "group", "userId": "u"}, ["body", "batch", 0, "groupId"], "groupId"),
        ({"type": "alias", "userId": "u"}, ["body", "batch", 0], "previousId"),
        ({"type": "jump", "userId": "u"}, ["body", "batch", 0, "type"], "Unknown message type"),
        ({"userId": "u"}, ["body", "batch", 0, "type"], "Unknown message type"),
    ],
)
def test_messages_missing_what_their_type_needs_are_refused(
    message: dict[str, Any], where: list[str | int], text: str
) -> None:
    with pytest.raises(InvalidPayload) as raised:
        decode_batch(batch(message), DEPTH)
    (problem,) = raised.value.detail
    assert problem["loc"] == where
    assert text in problem["msg"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"batch": {}}',
        b'{"batch": [{"type": "track", "userId": "u", "event": "x", "properties": []}]}',
        b'{"batch": [{"type": "page", "anonymousId": "a", "timestamp": "yesterday"}]}',
        b'{"batch": [{"type": "page", "anonymousId": {"a": 1}}]}',
    ],
)
def test_malformed_bodies_are_invalid(body: bytes) -> None:
    with pytest.raises(InvalidPayload):
        decode_batch(body, DEPTH)


def test_nesting_past_the_depth_limit_is_refused_where_it_happens() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"d": deep}
    with pytest.raises(InvalidPayload) as raised:
        decode_batch(batch({"type": "track", "userId": "u", "event": "e", "properties": deep}), 32)
    assert raised.value.detail[0]["loc"][:4] == ["body", "batch", 0, "properties"]


def test_integers_past_64_bits_are_refused() -> None:
    body = (
        b'{"batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"n": 1'
        + (b"0" * 25)
        + b"}}]}"
    )
    with pytest.raises(InvalidPayload):
        decode_batch(body, DEPTH)


def test_a_message_over_32_kib_is_too_large_even_in_a_small_batch() -> None:
    big = {
        "type": "track",
        "userId": "u",
        "event": "e",
        "properties": {"p": "x" * MAX_MESSAGE_BYTES},
    }
    with pytest.raises(PayloadTooLarge):
        decode_batch(batch(big), DEPTH)
    with pytest.raises(PayloadTooLarge):
        decode_message(orjson.dumps(big), "track", DEPTH)


def test_too_many_messages_in_one_batch_are_too_large() -> None:
    many = [{"type": "page", "anonymousId": "a"}] * (MAX_BATCH_MESSAGES + 1)
    with pytest.raises(PayloadTooLarge):
        decode_batch(batch(*many), DEPTH)


def test_a_pixel_query_string_nests_dotted_names() -> None:
    message = message_from_query(
        [
            ("writeKey", "k"),
            ("anonymousId", "a"),
            ("context.page.url", "https://x.io"),
            ("properties.plan", "pro"),
            ("properties", "flat"),
            ("..", "ignored"),
        ]
    )
    assert message == {
        "writeKey": "k",
        "anonymousId": "a",
        "context": {"page": {"url": "https://x.io"}},
        "properties": {"plan": "pro"},
    }


def test_external_ids_derive_fixed_profile_ids_strongest_first() -> None:
    person = ExternalIdentity.of("u1", "a1", "old")
    assert person.ids == (
        external_profile_id("u1"),
        external_profile_id("a1"),
        external_profile_id("old"),
    )
    # pinned: a changed namespace would turn every known person into a new one
    assert external_profile_id("u1") == "cdf65c7c-d152-5fd8-9ed6-6ccc5d2bf5d4"
    assert person.device == external_profile_id("a1")
    assert ExternalIdentity.of("u1", None).device == external_profile_id("u1")
    assert ExternalIdentity.of("same", "same").ids == (external_profile_id("same"),)
