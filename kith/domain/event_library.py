"""The event types every install has, before anyone configures anything.

Property names follow Tracardi's event library; the flat names Segment-style
senders use (`email`, `phone`, `total`) are read too. When both are present the
later rule wins, so the nested Tracardi form takes precedence. Users override any
of these through `/api/event-types/{type}`; deleting the override restores it."""

from __future__ import annotations

from typing import Any

from kith.domain.event_type import EventType, MappingRule


def _rule(source: Any, to: str, op: str = "set") -> MappingRule:
    return MappingRule(from_=source, to=f"profile@{to}", op=op)  # type: ignore[arg-type]


_IDENTITY_RULES = [
    _rule("event@properties.email", "data.contact.email.main"),
    _rule("event@properties.email.main", "data.contact.email.main"),
    _rule("event@properties.phone", "data.contact.phone.main"),
    _rule("event@properties.phone.main", "data.contact.phone.main"),
    _rule("event@properties.firstname", "data.pii.firstname"),
    _rule("event@properties.lastname", "data.pii.lastname"),
    _rule("event@properties.pk", "data.identifier.id"),
    _rule("event@properties.id", "data.identifier.id"),
]
_PROFILE_UPDATE_RULES = [
    *_IDENTITY_RULES,
    _rule("event@properties.birthday", "data.pii.birthday"),
    _rule("event@properties.gender", "data.pii.gender"),
    _rule("event@properties.address", "data.contact.address"),
    _rule("event@properties.language", "data.pii.language"),
]
_STRING = {"type": "string", "maxLength": 1024}
_IDENTITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "email": {"anyOf": [_STRING, {"type": "object"}]},
        "phone": {"anyOf": [_STRING, {"type": "object"}]},
        "firstname": _STRING,
        "lastname": _STRING,
    },
}
_AMOUNT = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*-?\d+(\.\d+)?\s*$"}]}
_ORDER_RULES = [
    _rule("event@properties.value", "data.metrics.ltv", "add"),
    _rule("event@properties.total", "data.metrics.ltv", "add"),
    _rule(1, "data.metrics.orders", "increment"),
    _rule("event@metadata.time.create", "data.metrics.last_order"),
    _rule("event@properties.currency", "data.metrics.currency"),
]
_ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"total": _AMOUNT, "value": _AMOUNT, "currency": _STRING},
}
_PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": ["string", "number"]}, "price": _AMOUNT},
}


def _counter(event_type: str) -> MappingRule:
    return _rule(1, f"stats.counters.{event_type}", "increment")


def _library() -> list[EventType]:
    identity = "Says who the visitor is: e-mail, phone, names and an id, which are merge keys."
    types = [
        EventType(
            type="page-view",
            description="A page was viewed; counts into stats.views.",
            tags=["web"],
            mapping=[_rule(1, "stats.views", "increment")],
        ),
        *[
            EventType(
                type=name,
                description=identity,
                tags=["identity"],
                schema=_IDENTITY_SCHEMA,
                mapping=list(_IDENTITY_RULES),
            )
            for name in ("identify", "identification", "sign-in", "sign-up")
        ],
        EventType(
            type="profile-update",
            description="Personal data changed: names, e-mail, phone, address and more.",
            tags=["identity"],
            schema=_IDENTITY_SCHEMA,
            mapping=list(_PROFILE_UPDATE_RULES),
        ),
        EventType(
            type="consent-update",
            description="Consents granted (`granted: [type...]`) or revoked (`revoked: [...]`).",
            tags=["consent"],
            schema={
                "type": "object",
                "properties": {
                    "granted": {"type": ["array", "string"]},
                    "revoked": {"type": ["array", "string"]},
                },
            },
            consents=True,
        ),
        EventType(
            type="product-view",
            description="A product page was viewed; counted and remembered as an interest.",
            tags=["ecommerce"],
            schema=_PRODUCT_SCHEMA,
            mapping=[
                _counter("product-view"),
                _rule("event@properties.category", "data.preferences.categories", "append_unique"),
            ],
        ),
        EventType(
            type="add-to-cart",
            description="A product went into the cart (data.preferences.cart lists product ids).",
            tags=["ecommerce"],
            schema=_PRODUCT_SCHEMA,
            mapping=[
                _counter("add-to-cart"),
                _rule("event@properties.id", "data.preferences.cart", "append_unique"),
            ],
        ),
        EventType(
            type="remove-from-cart",
            description="A product left the cart.",
            tags=["ecommerce"],
            schema=_PRODUCT_SCHEMA,
            mapping=[
                _counter("remove-from-cart"),
                _rule("event@properties.id", "data.preferences.cart", "remove"),
            ],
        ),
        EventType(
            type="checkout-started",
            description="A checkout began.",
            tags=["ecommerce"],
            mapping=[_counter("checkout-started")],
        ),
        *[
            EventType(
                type=name,
                description="An order was placed: lifetime value, order count, last order time.",
                tags=["ecommerce"],
                schema=_ORDER_SCHEMA,
                mapping=[*_ORDER_RULES, _rule([], "data.preferences.cart")],
            )
            for name in ("order-completed", "checkout-completed")
        ],
        EventType(
            type="interest",
            description="Interest in a topic: `interest` (name) and optional `value` (default 1)"
            " add up in profile.interests.",
            tags=["interest"],
            schema={
                "type": "object",
                "required": ["interest"],
                "properties": {"interest": _STRING, "value": {"type": "number"}},
            },
            mapping=[
                _rule(
                    "event@properties.value", "interests.{event@properties.interest}", "increment"
                )
            ],
        ),
    ]
    for event_type in types:
        event_type.builtin = True
    return types


BUILTIN_EVENT_TYPES: dict[str, EventType] = {t.type: t for t in _library()}
