"""Identity settings: which profile fields are merge keys."""

from __future__ import annotations

import msgspec
import phonenumbers
from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, Field

from kith.api.admin.fields import RequestBody
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.identity.merge_keys import IdentitySettings, MergeKey, Normaliser

router = APIRouter(prefix="/settings/identity", tags=["identity"])


def region_pattern() -> str:
    """Every region code phone numbers know, in any letter case (`de` is `DE`): the
    check `validate_settings` makes, written as a pattern for the schema."""
    codes = sorted(phonenumbers.SUPPORTED_REGIONS)
    either = ("".join(f"[{c}{c.lower()}]" for c in code) for code in codes)
    return f"^(?:{'|'.join(either)})$"


class MergeKeyModel(RequestBody):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        ...,
        min_length=1,
        max_length=512,
        description="A profile path such as `data.contact.email.main` (`profile@` optional); "
        "not `id`, `ids` or `metadata`, and each path once.",
    )
    normalise: Normaliser = "text"


class IdentitySettingsModel(RequestBody):
    merge_keys: list[MergeKeyModel] = Field(..., max_length=50)
    phone_region: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Region (ISO 3166) of phone numbers written without a country code.",
        json_schema_extra={"pattern": region_pattern()},
    )


def out(settings: IdentitySettings) -> IdentitySettingsModel:
    return IdentitySettingsModel.model_validate(msgspec.to_builtins(settings), strict=False)


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
    responses=responses(413, 422, 503),
)
async def put_identity_settings(
    body: IdentitySettingsModel, request: Request
) -> IdentitySettingsModel:
    settings = IdentitySettings(
        merge_keys=[MergeKey(path=k.path.strip(), normalise=k.normalise) for k in body.merge_keys],
        phone_region=body.phone_region.upper() if body.phone_region else None,
    )
    return out(await services_of(request).identity.replace(settings))
