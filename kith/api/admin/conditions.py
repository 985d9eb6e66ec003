"""`POST /api/conditions/check`: parse a condition and evaluate it against documents
a console or a user supplies, so a condition can be tried before it is saved."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from kith.api.admin.responses import responses
from kith.api.auth import require
from kith.conditions import MAX_CONDITION_LENGTH, check_condition
from kith.domain.access import Permission

router = APIRouter(prefix="/conditions", tags=["conditions"])


class ConditionCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: str = Field(
        ..., max_length=MAX_CONDITION_LENGTH, description="A condition (docs/conditions.md)"
    )
    profile: dict[str, Any] | None = Field(None, description="The profile it reads")
    event: dict[str, Any] | None = Field(None, description="The event it reads")
    session: dict[str, Any] | None = Field(None, description="The session it reads")


class ConditionCheckOut(BaseModel):
    valid: bool
    result: bool | None = Field(description="null when the condition is not valid")
    error: str | None = Field(description="What is wrong, naming line and column")


@router.post(
    "/check",
    response_model=ConditionCheckOut,
    dependencies=[Depends(require(Permission.config_read))],
    responses=responses(404, 413, 422, 503),
)
def check(body: ConditionCheck) -> ConditionCheckOut:
    """Any role may call it; it reads and stores nothing. A plain `def`: parsing a
    long condition takes milliseconds, which belong on a worker thread."""
    documents = {
        name: document
        for name, document in (
            ("profile", body.profile),
            ("event", body.event),
            ("session", body.session),
        )
        if document is not None
    }
    result = check_condition(body.condition, documents)
    return ConditionCheckOut(valid=result.valid, result=result.result, error=result.error)
