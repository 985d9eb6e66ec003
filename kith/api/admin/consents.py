"""Consent types: what a profile can grant or revoke, and for how long a grant lasts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field

from kith.api.admin.fields import NOT_BLANK, RequestBody, Whole
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.consent import ConsentType

router = APIRouter(prefix="/consent-types", tags=["consents"])
read = [Depends(require(Permission.config_read))]
write = [Depends(require(Permission.config_write))]
ConsentId = Annotated[
    str, Path(max_length=128, pattern=NOT_BLANK, description="Trimmed and lower-cased.")
]


class ConsentFields(RequestBody):
    name: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    revokable: bool = True
    default: bool = False
    auto_expiry_days: Annotated[int, Field(ge=1, le=36500), Whole] | None = None


class ConsentOut(ConsentFields):
    id: str


def _id(raw: str) -> str:
    return raw.strip().lower()


def out(consent: ConsentType) -> ConsentOut:
    return ConsentOut.model_validate(msgspec.to_builtins(consent), strict=False)


@router.get("", response_model=list[ConsentOut], dependencies=read)
async def list_consent_types(request: Request) -> list[ConsentOut]:
    types = await services_of(request).consent_types.all()
    return [out(types[key]) for key in sorted(types)]


@router.get(
    "/{consent_id}", response_model=ConsentOut, dependencies=read, responses=responses(404, 422)
)
async def get_consent_type(consent_id: ConsentId, request: Request) -> ConsentOut:
    return out(await services_of(request).consent_types.get(_id(consent_id)))


@router.put(
    "/{consent_id}",
    response_model=ConsentOut,
    dependencies=write,
    responses=responses(413, 422, 503),
)
async def put_consent_type(
    consent_id: ConsentId, body: ConsentFields, request: Request
) -> ConsentOut:
    consent = ConsentType(id=_id(consent_id), **body.model_dump())
    return out(await services_of(request).consent_types.put(consent))


@router.delete(
    "/{consent_id}", status_code=204, dependencies=write, responses=responses(404, 422, 503)
)
async def delete_consent_type(consent_id: ConsentId, request: Request) -> Response:
    await services_of(request).consent_types.delete(_id(consent_id))
    return Response(status_code=204)
