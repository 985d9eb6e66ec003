"""Event types: JSON Schema validation and event-to-profile mapping, per event type."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ConfigDict, Field

from kith.api.admin.fields import NOT_BLANK, RequestBody, Storable
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.event_type import EventType, MappingOp, MappingRule, OnInvalid
from kith.domain.payload import normalise_event_type

router = APIRouter(prefix="/event-types", tags=["event types"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
TypeName = Annotated[
    str,
    Path(
        max_length=128,
        pattern=NOT_BLANK,
        description="Trimmed, lower-cased, spaces become `-` (`Page View` is `page-view`).",
    ),
]


class Rule(RequestBody):
    model_config = ConfigDict(extra="forbid")

    from_: Annotated[Any, Storable] = Field(
        None, alias="from", description="`event@...`/`profile@...`/`session@...` path or a constant"
    )
    to: str = Field(..., max_length=512, description="A `profile@...` path")
    op: MappingOp = "set"


class EventTypeFields(RequestBody):
    """What PUT accepts: GET's answer without the read-only `type` and `builtin`."""

    description: str = Field("", max_length=2000)
    tags: list[Annotated[str, Field(max_length=128)]] = Field(default_factory=list, max_length=100)
    schema_: Annotated[dict[str, Any], Storable] | None = Field(
        None, alias="schema", description="JSON Schema for the event's properties"
    )
    on_invalid: OnInvalid = "store"
    mapping: list[Rule] = Field(default_factory=list, max_length=500)
    consents: bool = False


class EventTypeOut(EventTypeFields):
    type: str
    builtin: bool = False


def out(event_type: EventType) -> EventTypeOut:
    return EventTypeOut.model_validate(msgspec.to_builtins(event_type), strict=False)


@router.get("", response_model=list[EventTypeOut], dependencies=read)
async def list_event_types(request: Request) -> list[EventTypeOut]:
    """Every event type: the built-in library with stored overrides, and user-defined ones."""
    return [out(t) for t in await services_of(request).event_types.all()]


@router.get(
    "/{event_type}", response_model=EventTypeOut, dependencies=read, responses=responses(404, 422)
)
async def get_event_type(event_type: TypeName, request: Request) -> EventTypeOut:
    registry = services_of(request).event_types
    return out(await registry.get(normalise_event_type(event_type)))


@router.put(
    "/{event_type}",
    response_model=EventTypeOut,
    dependencies=write,
    responses=responses(413, 422, 503),
)
async def put_event_type(
    event_type: TypeName, body: EventTypeFields, request: Request
) -> EventTypeOut:
    """Create or replace; for a built-in type this stores an override."""
    definition = EventType(
        type=normalise_event_type(event_type),
        description=body.description,
        tags=body.tags,
        schema=body.schema_,
        on_invalid=body.on_invalid,
        mapping=[MappingRule(to=r.to, op=r.op, from_=r.from_) for r in body.mapping],
        consents=body.consents,
    )
    return out(await services_of(request).event_types.put(definition))


@router.delete(
    "/{event_type}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_event_type(event_type: TypeName, request: Request) -> Response:
    """Delete a stored definition; a built-in type returns to the library's."""
    await services_of(request).event_types.delete(normalise_event_type(event_type))
    return Response(status_code=204)
