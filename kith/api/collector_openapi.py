"""The collector's part of the OpenAPI document: `/track`, `/collect` and `/healthz`.

They are plain Starlette routes in front of FastAPI (its dependency layer would
cost the hot path 2.6x), so FastAPI cannot describe them. The models here do,
with the limits of the running settings; they are read once, when the document
is built, and never on the collector's path, which decodes with msgspec
(`kith.domain.payload`). Their shapes follow API.md section 1."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from kith.api.admin.fields import WHITESPACE
from kith.api.errors import ErrorBody, ValidationErrorBody
from kith.domain.payload import PayloadLimits

NO_NUL = r"^[^\x00]*$"
"""Ids and types never hold NUL: PostgreSQL cannot store it in text."""
NAMED = rf"^[^\x00]*[^{WHITESPACE}\x00][^\x00]*$"
"""Not blank once trimmed, and no NUL: a source id, an event type."""

Document = dict[str, Any]
REF = "#/components/schemas/{model}"


def _models(limits: PayloadLimits) -> list[type[BaseModel]]:
    """The payload and answer models, with this process's limits."""
    max_id = limits.max_id_length

    class SourceRef(BaseModel):
        id: str = Field(
            max_length=max_id,
            pattern=NAMED,
            description="The source: the collector's credential. Trimmed, lower-cased.",
        )

    class Ref(BaseModel):
        id: Annotated[str, Field(max_length=max_id, pattern=NO_NUL)] | None = Field(
            None, description="Trimmed; absent, null or blank: none."
        )

    class EventTime(BaseModel):
        create: datetime | None = Field(None, description="When the client saw it happen.")

    class TrackEvent(BaseModel):
        type: str = Field(
            max_length=limits.max_type_length,
            pattern=NAMED,
            description="Trimmed, lower-cased, spaces become `-` (`Page View` is `page-view`).",
        )
        id: Annotated[str, Field(max_length=max_id, pattern=NO_NUL)] | None = Field(
            None, description="The client's id of the event: sending it again stores nothing new."
        )
        properties: dict[str, Any] = Field(default_factory=dict, max_length=limits.max_properties)
        options: dict[str, Any] = Field(default_factory=dict)
        context: dict[str, Any] = Field(default_factory=dict)
        tags: list[str] = Field(default_factory=list)
        time: EventTime | None = None

    class TrackerPayload(BaseModel):
        """A Tracardi tracker payload. Unknown fields are ignored."""

        source: SourceRef
        session: Ref | None = Field(None, description="Absent: a new session.")
        profile: Ref | None = None
        context: dict[str, Any] = Field(
            default_factory=dict, description="Shallow-merged into the session's."
        )
        properties: dict[str, Any] = Field(
            default_factory=dict, description="Shallow-merged into the session's."
        )
        events: list[TrackEvent] = Field(default_factory=list, max_length=limits.max_events)
        options: dict[str, Any] = Field(
            default_factory=dict,
            description="`saveSession`, `saveEvents`, `saveProfile`: only booleans count.",
        )

    class IdOrNull(BaseModel):
        id: str | None

    class TrackAnswer(BaseModel):
        """Sent only once everything is durably stored."""

        task: str
        profile: IdOrNull
        session: IdOrNull = Field(description="`id` is null when the session was not saved.")
        events: list[str] = Field(description="The ids of the payload's own events, in order.")
        ux: list[Any]
        response: dict[str, Any]
        errors: list[Any]
        warnings: list[Any]

    class Health(BaseModel):
        status: Literal["ok", "degraded"] = Field(
            description="`degraded` (still 200) while the writer is backed up."
        )
        storage: Literal["sqlite", "postgresql"]
        version: str
        reason: str | None = Field(None, description="Why it is degraded.")

    return [TrackerPayload, TrackAnswer, Health]


def _ref(name: str) -> Document:
    return {"$ref": REF.format(model=name)}


def _json(schema: Document) -> Document:
    return {"application/json": {"schema": schema}}


_PROCESS_TIME = {
    "x-process-time": {
        "description": "Seconds the collector spent on the request.",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _answers(success: Document, max_body: int) -> Document:
    def error(description: str, body: str, retry: bool = False) -> Document:
        headers = {**_PROCESS_TIME, **(_RETRY_AFTER if retry else {})}
        return {"description": description, "headers": headers, "content": _json(_ref(body))}

    return {
        "200": {"description": "Stored.", "headers": _PROCESS_TIME, "content": _json(success)},
        "401": error(
            "Unknown, disabled or internal (`@...`) source, or one that does not allow "
            "this bridge.",
            "ErrorBody",
        ),
        "413": error(f"The body is larger than {max_body} bytes.", "ErrorBody"),
        "422": error(
            "Malformed JSON or a payload that breaks the schema or a limit; nothing is stored.",
            "ValidationErrorBody",
        ),
        "429": error("The source sends faster than its rate limit.", "ErrorBody", retry=True),
        "503": error("The writer is backed up; nothing is stored.", "ErrorBody", retry=True),
    }


def _path_parameter(name: str, schema: Document, description: str) -> Document:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }


def _collect(
    operation_id: str, method: str, with_session: bool, limits: PayloadLimits, max_body: int
) -> Document:
    parameters = [
        _path_parameter(
            "event_type",
            {"type": "string", "maxLength": limits.max_type_length, "pattern": NAMED},
            "The event's type (normalised as in `/track`).",
        ),
        _path_parameter(
            "source_id",
            {"type": "string", "maxLength": limits.max_id_length, "pattern": NAMED},
            "A source that allows the `webhook` bridge.",
        ),
    ]
    if with_session:
        parameters.append(
            _path_parameter(
                "session_id",
                {"type": "string", "maxLength": limits.max_id_length, "pattern": NO_NUL},
                "The visit; its profile is resolved as in `/track`.",
            )
        )
    operation: Document = {
        "tags": ["collector"],
        "operationId": operation_id,
        "summary": "One event from a webhook"
        + (" in a visit" if with_session else ", without a profile"),
        "security": [],
        "parameters": parameters,
        "responses": _answers(_ref("TrackAnswer"), max_body),
    }
    properties = {"type": "object", "maxProperties": limits.max_properties}
    if method == "get":
        parameters.append(
            {
                "name": "properties",
                "in": "query",
                "style": "form",
                "explode": True,
                "schema": {**properties, "additionalProperties": {"type": "string"}},
                "description": "Every query parameter becomes a property of the event.",
            }
        )
    else:
        operation["requestBody"] = {
            "required": False,
            "description": "A JSON object: the event's properties (any Content-Type).",
            "content": _json(properties),
        }
    return operation


def describe_collector(
    document: Document, limits: PayloadLimits, max_batch: int, max_body: int
) -> None:
    """Add the collector's paths, and the models they use, to an OpenAPI `document`."""
    models: list[type[BaseModel]] = [*_models(limits), ErrorBody, ValidationErrorBody]
    _, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        if components.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas named {name!r} in the OpenAPI document")
    profile_less = {
        "name": "profile_less",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "`true` (or `1`, `yes`, `on`): process the events without any profile.",
    }
    payload_body = {
        "required": True,
        "description": "Any Content-Type (`navigator.sendBeacon` sends `text/plain`).",
    }
    paths = document.setdefault("paths", {})
    paths["/track"] = {
        "post": {
            "tags": ["collector"],
            "operationId": "track",
            "summary": "Collect one tracker payload",
            "security": [],
            "parameters": [profile_less],
            "requestBody": {**payload_body, "content": _json(_ref("TrackerPayload"))},
            "responses": _answers(_ref("TrackAnswer"), max_body),
        },
        "put": {
            "tags": ["collector"],
            "operationId": "track_batch",
            "summary": "Collect tracker payloads in order",
            "security": [],
            "parameters": [profile_less],
            "requestBody": {
                **payload_body,
                "content": _json(
                    {"type": "array", "items": _ref("TrackerPayload"), "maxItems": max_batch}
                ),
            },
            "responses": _answers({"type": "array", "items": _ref("TrackAnswer")}, max_body),
        },
    }
    for path, with_session in (
        ("/collect/{event_type}/{source_id}/{session_id}", True),
        ("/collect/{event_type}/{source_id}", False),
    ):
        name = "collect_session_event" if with_session else "collect_event"
        paths[path] = {
            "post": _collect(name, "post", with_session, limits, max_body),
            "get": _collect(f"{name}_from_query", "get", with_session, limits, max_body),
        }
    paths["/healthz"] = {
        "get": {
            "tags": ["health"],
            "operationId": "health",
            "summary": "Liveness and storage engine (no key needed)",
            "security": [],
            "responses": {"200": {"description": "Serving.", "content": _json(_ref("Health"))}},
        }
    }
