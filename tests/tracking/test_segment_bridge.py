"""Segment messages as tracker payloads: types, properties, ids, times, grouping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from kith.domain.errors import InvalidPayload
from kith.domain.external_identity import ExternalIdentity
from kith.domain.payload import PayloadLimits
from kith.domain.segment_messages import Message, decode_batch
from kith.tracking.segment_bridge import event_id, event_time, session_context, to_payloads

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = PayloadLimits()


def messages(*raw: dict[str, Any]) -> list[Message]:
    return decode_batch(orjson.dumps({"batch": list(raw)}), 32).messages


def mapped(*raw: dict[str, Any], limits: PayloadLimits = LIMITS) -> list[Any]:
    return to_payloads(messages(*raw), "web", RECEIVED, limits)


def one_event(raw: dict[str, Any]) -> Any:
    ((payload, _),) = mapped(raw)
    (event,) = payload.events
    return event


def test_each_call_maps_to_its_event_type_and_properties() -> None:
    cases = [
        (
            {"type": "track", "event": " Order  Completed", "properties": {"total": 5}},
            "order-completed",
            {"total": 5},
        ),
        (
            {"type": "page", "name": "Home", "category": "Docs", "properties": {"url": "u"}},
            "page-view",
            {"url": "u", "name": "Home", "category": "Docs"},
        ),
        ({"type": "screen", "name": "Settings"}, "screen-view", {"name": "Settings"}),
        (
            {"type": "group", "groupId": 7, "traits": {"name": "Acme"}},
            "group-membership",
            {"groupId": "7", "traits": {"name": "Acme"}},
        ),
        ({"type": "alias", "previousId": "a1"}, "alias", {"previousId": "a1", "userId": "u1"}),
    ]
    for raw, kind, properties in cases:
        event = one_event({"userId": "u1", **raw})
        assert (event.type, event.properties) == (kind, properties)


def test_identify_traits_take_the_identify_event_types_names_and_the_user_id() -> None:
    event = one_event(
        {
            "type": "identify",
            "userId": "u1",
            "traits": {
                "email": "ann@x.io",
                "firstName": "Ann",
                "lastName": "Lee",
                "plan": "pro",
                "id": "x",
            },
        }
    )
    assert event.type == "identify"
    assert event.properties == {
        "email": "ann@x.io",
        "firstname": "Ann",
        "lastname": "Lee",
        "plan": "pro",
        "id": "u1",
    }


def test_identify_without_traits_reads_the_context_traits() -> None:
    event = one_event(
        {"type": "identify", "anonymousId": "a1", "context": {"traits": {"email": "b@x.io"}}}
    )
    assert event.properties == {"email": "b@x.io"}


def test_a_uuid_message_id_is_the_event_id_and_any_other_a_uuid5_of_source_and_id() -> None:
    kept = str(uuid.uuid4())
    assert event_id("web", kept.upper()) == (kept, True)
    derived, is_kept = event_id("web", "node-next-1700000000-abc")
    assert not is_kept
    assert uuid.UUID(derived).version == 5
    assert event_id("web", "node-next-1700000000-abc")[0] == derived
    assert event_id("app", "node-next-1700000000-abc")[0] != derived
    event = one_event({"type": "track", "userId": "u", "event": "e", "messageId": "m-1"})
    assert event.id == event_id("web", "m-1")[0]
    assert event.context["messageId"] == "m-1"
    assert (
        "messageId"
        not in one_event({"type": "track", "userId": "u", "event": "e", "messageId": kept}).context
    )


def test_the_clock_skew_of_the_client_is_corrected() -> None:
    (message,) = messages(
        {
            "type": "track",
            "userId": "u",
            "event": "e",
            "timestamp": "2030-01-01T10:00:00Z",
            "sentAt": "2030-01-01T10:00:07Z",
        }
    )
    assert event_time(message, RECEIVED) == RECEIVED - timedelta(seconds=7)
    (without_sent_at,) = messages(
        {"type": "track", "userId": "u", "event": "e", "timestamp": "2020-01-01T00:00:00Z"}
    )
    assert event_time(without_sent_at, RECEIVED) == datetime(2020, 1, 1, tzinfo=UTC)
    (untimed,) = messages({"type": "track", "userId": "u", "event": "e"})
    assert event_time(untimed, RECEIVED) == RECEIVED
    event = one_event(
        {
            "type": "track",
            "userId": "u",
            "event": "e",
            "timestamp": "2030-01-01T10:00:00Z",
            "sentAt": "2030-01-01T10:00:07Z",
        }
    )
    assert event.time.create == RECEIVED - timedelta(seconds=7)


def test_one_payload_per_run_of_one_persons_messages_in_order() -> None:
    raw = []
    for index in range(100):
        person = index % 10
        raw.append({"type": "track", "userId": f"u{person}", "event": f"e{index}"})
    pairs = mapped(*raw)
    assert len(pairs) == 10
    for person, (payload, identity) in enumerate(pairs):
        assert identity == ExternalIdentity.of(f"u{person}", None)
        assert [event.type for event in payload.events] == [
            f"e{index}" for index in range(person, 100, 10)
        ]


def test_related_messages_with_other_ids_stay_in_order_as_separate_payloads() -> None:
    pairs = mapped(
        {"type": "page", "anonymousId": "a1"},
        {"type": "identify", "anonymousId": "a1", "userId": "u1"},
        {"type": "page", "anonymousId": "a1"},
        {"type": "page", "anonymousId": "a1"},
        {"type": "page", "anonymousId": "b2"},
    )
    shapes = [(identity, len(payload.events)) for payload, identity in pairs]
    assert shapes == [
        (ExternalIdentity.of(None, "a1"), 1),
        (ExternalIdentity.of("u1", "a1"), 1),
        (ExternalIdentity.of(None, "a1"), 2),
        (ExternalIdentity.of(None, "b2"), 1),
    ]


def test_a_gap_over_30_minutes_or_the_event_limit_starts_a_new_payload() -> None:
    at = [RECEIVED, RECEIVED + timedelta(minutes=29), RECEIVED + timedelta(minutes=60)]
    pairs = mapped(
        *[{"type": "page", "anonymousId": "a", "timestamp": moment.isoformat()} for moment in at]
    )
    assert [len(payload.events) for payload, _ in pairs] == [2, 1]
    small = PayloadLimits(max_events=3)
    pairs = mapped(*[{"type": "page", "anonymousId": "a"}] * 7, limits=small)
    assert [len(payload.events) for payload, _ in pairs] == [3, 3, 1]


def test_a_context_session_id_is_a_session_per_device_and_splits_payloads() -> None:
    pairs = mapped(
        {"type": "page", "anonymousId": "a", "context": {"sessionId": 1700000000000}},
        {"type": "page", "anonymousId": "a", "context": {"sessionId": 1700000000000}},
        {"type": "page", "anonymousId": "a", "context": {"sessionId": 1700000999999}},
        {"type": "page", "anonymousId": "b", "context": {"sessionId": 1700000000000}},
    )
    sessions = [payload.session.id if payload.session else None for payload, _ in pairs]
    assert [len(payload.events) for payload, _ in pairs] == [2, 1, 1]
    assert len(set(sessions)) == 3
    assert all(session and uuid.UUID(session).version == 5 for session in sessions)


def test_the_session_context_takes_the_shape_kiths_enrichment_reads() -> None:
    context = session_context(
        {
            "userAgent": "Mozilla/5.0",
            "locale": "de-DE",
            "screen": {"width": 390, "height": 844},
            "campaign": {"name": "spring", "source": "news", "medium": "email"},
            "timezone": "Europe/Berlin",
            "page": {"url": "https://x.io/a"},
        }
    )
    assert context == {
        "browser": {"local": {"browser": {"userAgent": "Mozilla/5.0", "language": "de-DE"}}},
        "screen": {"local": {"width": 390, "height": 844}},
        "utm": {"source": "news", "medium": "email", "campaign": "spring"},
        "time": {"tz": "Europe/Berlin"},
        "page": {"url": "https://x.io/a"},
    }


def test_the_page_context_gains_the_pages_properties_and_the_referer_kith_reads() -> None:
    event = one_event(
        {
            "type": "page",
            "anonymousId": "a",
            "properties": {"url": "https://x.io/b", "referrer": "https://google.com"},
            "context": {"page": {"url": "https://x.io/a"}},
        }
    )
    assert event.context["page"] == {
        "url": "https://x.io/b",
        "referrer": "https://google.com",
        "referer": "https://google.com",
    }


def test_ids_and_names_past_the_limits_are_refused() -> None:
    with pytest.raises(InvalidPayload):
        mapped({"type": "page", "anonymousId": "a" * 300})
    with pytest.raises(InvalidPayload):
        mapped({"type": "track", "anonymousId": "a", "event": "e" * 200})


def test_the_device_id_of_a_mobile_context_names_the_payloads_device() -> None:
    ((payload, _),) = mapped(
        {"type": "screen", "userId": "u", "context": {"device": {"id": "d-1"}}}
    )
    assert payload.device is not None and payload.device.id == "d-1"
