"""Consent nodes: branch on a profile's consent, and grant one.

Both follow `kith.domain.consent` exactly as the collector does: a grant lapses
at its `expires` time when it is read (never by a background job), a type with
`default: true` reads as granted until the profile decides, and a grant of a
type with `auto_expiry_days` expires that many days after the run's time."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from kith.domain.clock import iso
from kith.domain.consent import ConsentType, apply_consent_update, effective_consents
from kith.workflows.node import FlowNode, NodeConfig, Output
from kith.workflows.run import FlowRun


class ConsentConfig(NodeConfig):
    consent: str = Field(
        min_length=1, max_length=128, description="The consent type's id, e.g. `marketing`."
    )

    @field_validator("consent")
    @classmethod
    def lower(cls, value: str) -> str:
        return value.strip().lower()


async def consent_types(run: FlowRun) -> dict[str, ConsentType]:
    source = run.services.consent_types
    return await source.all() if source is not None else {}


class HasConsent(FlowNode[ConsentConfig]):
    """Branches on whether the profile has granted a consent type now: `true` when it
    granted it and the grant has not expired (or never decided and the type's
    default is granted), `false` otherwise, including runs without a profile.
    Example: `{"consent": "marketing"}`."""

    type = "has-consent"
    name = "Has consent"
    family = "consent"
    ports = ("true", "false")
    config_model = ConsentConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        if run.profile is None:
            return Output("false", payload)
        decisions = effective_consents(run.profile, iso(run.now), await consent_types(run))
        decision = decisions.get(self.config.consent) or {}
        return Output("true" if decision.get("granted") is True else "false", payload)


class AddConsent(FlowNode[ConsentConfig]):
    """Records that the profile granted a consent type, as a `consent-update` event
    with `{"granted": [type]}` does: `profile.consents[type] = {"granted": true,
    "time", "expires"}`, with the type's `auto_expiry_days` counted from the run's
    time. Example: `{"consent": "newsletter"}`."""

    type = "add-consent"
    name = "Add consent"
    family = "consent"
    config_model = ConsentConfig

    async def run(self, run: FlowRun, payload: Any) -> Output:
        profile = run.require_profile()
        apply_consent_update(
            profile, {"granted": [self.config.consent]}, await consent_types(run), iso(run.now)
        )
        return self.out(payload)


NODES = [HasConsent, AddConsent]
