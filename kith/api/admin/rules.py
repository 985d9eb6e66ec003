"""Rules: which events start which flows (API.md section 5)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ConfigDict, Field

from kith.api.admin.fields import RequestBody
from kith.api.admin.paging import ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.payload import normalise_event_type
from kith.domain.source import normalise_source_id

router = APIRouter(prefix="/rules", tags=["rules"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
RuleId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^/\s]+$")]


class RuleFields(RequestBody):
    """What PUT accepts: GET's answer (its `id` is taken from the path)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field("", max_length=200)
    enabled: bool = True
    event_type: str | None = Field(None, max_length=128, description="null: any type")
    source: str | None = Field(None, max_length=256, description="null: any source")
    flow: str = Field(..., min_length=1, max_length=128)
    condition: str | None = Field(None, max_length=65536, description="docs/conditions.md")


class RuleOut(RuleFields):
    id: str


@router.get("", response_model=ListPage[RuleOut], dependencies=read, responses=responses(404, 422))
async def list_rules(request: Request) -> ListPage[RuleOut]:
    """Every rule, in the order they run (by id)."""
    rules = await services_of(request).flows.rules()
    return ListPage[RuleOut](items=[RuleOut.model_validate(r) for r in rules], next=None)


@router.get("/{rule_id}", response_model=RuleOut, dependencies=read, responses=responses(404, 422))
async def get_rule(rule_id: RuleId, request: Request) -> RuleOut:
    return RuleOut.model_validate(await services_of(request).flows.rule(rule_id))


@router.put(
    "/{rule_id}",
    response_model=RuleOut,
    dependencies=write,
    responses=responses(404, 413, 422, 503),
)
async def put_rule(rule_id: RuleId, body: RuleFields, request: Request) -> RuleOut:
    """Create or replace; 422 when the condition does not parse or the flow is unknown."""
    rule: dict[str, Any] = body.model_dump()
    if rule["event_type"] is not None:
        rule["event_type"] = normalise_event_type(rule["event_type"])
    if rule["source"] is not None:
        rule["source"] = normalise_source_id(rule["source"])
    return RuleOut.model_validate(await services_of(request).flows.put_rule(rule_id, rule))


@router.delete(
    "/{rule_id}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_rule(rule_id: RuleId, request: Request) -> Response:
    await services_of(request).flows.delete_rule(rule_id)
    return Response(status_code=204)
