"""Identity: the rules (merge keys, limits, blocked values), a person's identity
index, and back-office merges."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
import phonenumbers
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kith.api.admin.data import Id, envelope
from kith.api.admin.fields import RequestBody, Whole
from kith.api.admin.paging import Cursor, Limit, ListPage
from kith.api.admin.responses import responses
from kith.api.auth import require, services_of
from kith.domain.access import Permission
from kith.domain.document import Document
from kith.identity.merge_keys import DEFAULT_PRIORITY, IdentitySettings

router = APIRouter(tags=["identity"])

NormaliserName = Literal["email", "phone", "trim", "text"]
"""`text` is the old name of `trim`, still accepted."""
Value = Annotated[str, StringConstraints(max_length=512)]


def region_pattern() -> str:
    """Every region code phone numbers know, in any letter case (`de` is `DE`): the
    check `validate_settings` makes, written as a pattern for the schema."""
    codes = sorted(phonenumbers.SUPPORTED_REGIONS)
    either = ("".join(f"[{c}{c.lower()}]" for c in code) for code in codes)
    return f"^(?:{'|'.join(either)})$"


class KeyRuleModel(RequestBody):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=512, description="A profile path")
    normalise: NormaliserName = "trim"
    limit: Annotated[
        int | None,
        Field(ge=1, le=100_000, description="Most values one profile may own; null: no limit"),
        Whole,
    ] = None
    priority: Annotated[int, Field(ge=0, le=1_000_000, description="Lower wins"), Whole] = (
        DEFAULT_PRIORITY
    )


class LegacyKeyModel(RequestBody):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(..., min_length=1, max_length=512)
    normalise: NormaliserName = "trim"


class IdentitySettingsIn(RequestBody):
    """Today's shape, or the old one (`merge_keys` instead of `keys`, converted)."""

    model_config = ConfigDict(extra="ignore")

    keys: list[KeyRuleModel] | None = Field(None, max_length=50)
    merge_keys: list[LegacyKeyModel] | None = Field(
        None, max_length=50, description="Deprecated: the old shape of `keys`, without rules"
    )
    blocked_values: list[Value] | None = Field(
        None, max_length=1000, description="Omitted: the defaults; [] blocks nothing"
    )
    max_profiles_per_merge: Annotated[int, Field(ge=2, le=1000), Whole] = 10
    phone_region: str | None = Field(
        None,
        min_length=2,
        max_length=2,
        description="Region (ISO 3166) of phone numbers written without a country code.",
        json_schema_extra={"pattern": region_pattern()},
    )


class KeyRuleOut(BaseModel):
    path: str
    normalise: Literal["email", "phone", "trim"]
    limit: int | None
    priority: int


class IdentitySettingsOut(BaseModel):
    keys: list[KeyRuleOut]
    blocked_values: list[str]
    max_profiles_per_merge: int
    phone_region: str | None


class MergeRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        ..., min_length=1, max_length=1000
    )


class MergeAnswer(BaseModel):
    id: str
    """The survivor."""
    merged: list[str]


def out(settings: IdentitySettings) -> IdentitySettingsOut:
    return IdentitySettingsOut.model_validate(msgspec.to_builtins(settings))


@router.get(
    "/settings/identity",
    response_model=IdentitySettingsOut,
    dependencies=[Depends(require(Permission.config_read))],
    responses=responses(404, 422),
)
async def get_identity_settings(request: Request) -> IdentitySettingsOut:
    return out(await services_of(request).identity.current())


@router.put(
    "/settings/identity",
    response_model=IdentitySettingsOut,
    dependencies=[Depends(require(Permission.config_write))],
    responses=responses(413, 422, 503),
)
async def put_identity_settings(body: IdentitySettingsIn, request: Request) -> IdentitySettingsOut:
    document: dict[str, Any] = body.model_dump(exclude_none=True)
    return out(await services_of(request).identity.replace(document))


@router.get(
    "/profiles/{profile_id}/identities",
    response_model=ListPage[dict[str, Any]],
    dependencies=[Depends(require(Permission.data_read))],
    responses=responses(404, 422),
)
async def profile_identities(
    profile_id: Id, request: Request, cursor: Cursor = None, limit: Limit = 50
) -> ListPage[Document]:
    """Every id and merge-key value that resolves to the person (`kind` is `id` or the
    key's path), with when (`claimed`) and by which event (`event`) it was claimed."""
    page = await services_of(request).identities.identities(profile_id, cursor, limit)
    return envelope(page)


@router.post(
    "/profiles/{profile_id}/merge",
    response_model=MergeAnswer,
    dependencies=[Depends(require(Permission.config_write))],
    responses=responses(404, 413, 422, 503),
)
async def merge_profiles(profile_id: Id, body: MergeRequest, request: Request) -> MergeAnswer:
    """Merge the profiles `ids` name into this one, under the same identity rules and
    locks as a merge the collector finds. All or nothing: 409 when a rule refuses
    (the `merge-refused` events are stored). The oldest profile survives.

    Needs `config:write` (admin, developer): whoever sets the identity rules may
    apply them by hand; a merge keeps every value (conflicts in
    `aux.merge_conflicts`), so it is not an erasure."""
    result = await services_of(request).identities.merge(profile_id, body.ids)
    return MergeAnswer(id=str(result.profile["id"]), merged=result.merged)
