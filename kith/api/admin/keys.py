"""API keys (admin only). The key itself is answered once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from kith.api.admin.fields import Lax, RequestBody
from kith.api.admin.paging import ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission, Role

router = APIRouter(
    prefix="/keys", tags=["keys"], dependencies=[Depends(require(Permission.keys_manage))]
)


class KeyCreate(RequestBody):
    role: Annotated[Role, Lax]
    name: str = Field("", max_length=200)


class KeyCreated(BaseModel):
    id: str
    key: str
    role: Role
    name: str


class KeyInfo(BaseModel):
    id: str
    role: Role
    name: str
    created: str


@router.post("", status_code=201, response_model=KeyCreated, responses=responses(413, 422, 503))
async def create_key(body: KeyCreate, request: Request) -> KeyCreated:
    key, plain = await services_of(request).keys.create(body.role, body.name)
    return KeyCreated(id=key.id, key=plain, role=key.role, name=key.name)


@router.get("", response_model=ListPage[KeyInfo])
async def list_keys(request: Request) -> ListPage[KeyInfo]:
    keys = await services_of(request).keys.list()
    items = [KeyInfo(id=k.id, role=k.role, name=k.name, created=k.created) for k in keys]
    return ListPage[KeyInfo](items=items, next=None)


@router.delete("/{key_id}", status_code=204, responses=responses(404, 422, 503))
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)], request: Request
) -> Response:
    await services_of(request).keys.revoke(key_id)
    return Response(status_code=204)
