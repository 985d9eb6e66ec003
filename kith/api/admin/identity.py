"""Identity settings: which profile fields are merge keys."""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.identity.merge_keys import IdentitySettings, MergeKey, Normaliser

router = APIRouter(prefix="/settings/identity", tags=["identity"])


class MergeKeyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=512, description="A profile path")
    normalise: Normaliser = "text"


class IdentitySettingsModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    merge_keys: list[MergeKeyModel] = Field(..., max_length=50)
    phone_region: str | None = Field(None, min_length=2, max_length=2)


def out(settings: IdentitySettings) -> IdentitySettingsModel:
    return IdentitySettingsModel.model_validate(msgspec.to_builtins(settings))


@router.get(
    "",
    response_model=IdentitySettingsModel,
    dependencies=[Depends(require(Permission.config_read))],
)
async def get_identity_settings(request: Request) -> IdentitySettingsModel:
    return out(await services_of(request).identity.current())


@router.put(
    "",
    response_model=IdentitySettingsModel,
    dependencies=[Depends(require(Permission.config_write))],
)
async def put_identity_settings(
    body: IdentitySettingsModel, request: Request
) -> IdentitySettingsModel:
    settings = IdentitySettings(
        merge_keys=[MergeKey(path=k.path.strip(), normalise=k.normalise) for k in body.merge_keys],
        phone_region=body.phone_region.upper() if body.phone_region else None,
    )
    return out(await services_of(request).identity.replace(settings))
