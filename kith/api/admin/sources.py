"""Event sources: the collector's credentials."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field, field_validator

from kith.api.admin.fields import WHITESPACE, RequestBody, Whole
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.ids import new_id
from kith.domain.source import Bridge, Source, normalise_source_id

router = APIRouter(prefix="/sources", tags=["sources"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
SourceId = Annotated[str, Path(min_length=1, max_length=256)]

_FORBIDDEN = rf"{WHITESPACE}/\x00-\x1f\x7f"
SOURCE_ID_PATTERN = rf"^[{WHITESPACE}]*[^{_FORBIDDEN}@][^{_FORBIDDEN}]*[{WHITESPACE}]*$"
"""A new source's id: trimmed, then no whitespace, `/` or control character in it
(it is a path segment of `/collect` and a credential pasted into snippets), and
no leading `@` (reserved for internal sources such as `@internal`)."""


def _default_bridges() -> list[Bridge]:
    return ["rest"]


class RateLimitFields(RequestBody):
    """A token bucket for the collector: `rate` payloads a second, bursts up to `burst`."""

    rate: float = Field(gt=0, le=1_000_000, description="Payloads a second, sustained.")
    burst: Annotated[int, Field(ge=1, le=1_000_000), Whole] = Field(
        description="Most payloads at once after a lull."
    )


class SourceFields(RequestBody):
    """Everything of a source but its id; PUT accepts what GET answers."""

    name: str = Field("", max_length=200)
    bridges: list[Bridge] = Field(default_factory=_default_bridges)
    enabled: bool = True
    ephemeral: bool = False
    static_profile_id: bool = False
    channel: str = Field("web", max_length=64)
    tags: list[Annotated[str, Field(max_length=128)]] = Field(default_factory=list, max_length=100)
    allowed_origins: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=lambda: ["*"], max_length=100
    )
    description: str = Field("", max_length=2000)
    rate_limit: RateLimitFields | None = Field(
        None, description="Per-source token bucket (429 above it); null: no limit."
    )
    async_: bool = Field(
        False,
        alias="async",
        description="Async storage by default: payloads are acknowledged once logged and"
        " processed moments later (a payload's own `options.async` decides for it).",
    )

    def to_source(self, source_id: str) -> Source:
        return msgspec.convert({**self.model_dump(by_alias=True), "id": source_id}, Source)


class SourceCreate(SourceFields):
    id: str | None = Field(
        None,
        max_length=256,
        description="Optional; generated when absent. Trimmed and stored lower-case.",
        json_schema_extra={"pattern": SOURCE_ID_PATTERN},
    )

    @field_validator("id")
    @classmethod
    def valid_id(cls, value: str | None) -> str | None:
        """The pattern the schema shows, checked here to say in words what is wrong."""
        if value is None:
            return None
        if re.fullmatch(SOURCE_ID_PATTERN, value) is None:
            trimmed = normalise_source_id(value)
            if not trimmed:
                raise ValueError("must not be empty")
            if trimmed.startswith("@"):
                raise ValueError("ids starting with '@' are reserved for internal sources")
            raise ValueError("must not contain '/', whitespace or control characters")
        return normalise_source_id(value)


class SourceOut(SourceFields):
    id: str


def out(source: Source) -> SourceOut:
    return SourceOut.model_validate(msgspec.to_builtins(source), strict=False)


@router.post(
    "",
    status_code=201,
    response_model=SourceOut,
    dependencies=write,
    responses=responses(409, 413, 422, 503),
)
async def create_source(body: SourceCreate, request: Request) -> SourceOut:
    source = body.to_source(body.id or new_id())
    return out(await services_of(request).sources.create(source))


@router.get("", response_model=ListPage[SourceOut], dependencies=read, responses=responses(422))
async def list_sources(
    request: Request, cursor: Cursor = None, limit: Limit = 50
) -> ListPage[SourceOut]:
    page = await services_of(request).sources.page(cursor, limit)
    return ListPage[SourceOut](items=[out(s) for s in page.items], next=page.next)


@router.get(
    "/{source_id}", response_model=SourceOut, dependencies=read, responses=responses(404, 422)
)
async def get_source(source_id: SourceId, request: Request) -> SourceOut:
    return out(await services_of(request).sources.get(normalise_source_id(source_id)))


@router.put(
    "/{source_id}",
    response_model=SourceOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def replace_source(source_id: SourceId, body: SourceFields, request: Request) -> SourceOut:
    source = body.to_source(normalise_source_id(source_id))
    return out(await services_of(request).sources.replace(source))


@router.delete(
    "/{source_id}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_source(source_id: SourceId, request: Request) -> Response:
    await services_of(request).sources.delete(normalise_source_id(source_id))
    return Response(status_code=204)
