"""What a payload's events do to the profile: validation, mappings, consents.

Runs on the events of one request before anything is committed, so an event
type in `reject` mode can still refuse the whole payload with nothing stored."""

from __future__ import annotations

from kith.domain.consent import apply_consent_update
from kith.domain.errors import InvalidPayload
from kith.domain.mapping import MappingContext, apply_mapping, log_changes
from kith.domain.payload import TrackerPayload
from kith.identity.rules import IdentityRules
from kith.identity.settings import IdentitySettingsStore
from kith.storage.ports import Document
from kith.tracking.consent_types import ConsentTypeRegistry
from kith.tracking.event_records import Record
from kith.tracking.event_types import EventTypeRegistry
from kith.tracking.plan import TrackResult


class ProfileChanges:
    def __init__(
        self,
        event_types: EventTypeRegistry,
        consent_types: ConsentTypeRegistry,
        identity: IdentitySettingsStore,
    ) -> None:
        self.event_types = event_types
        self.consent_types = consent_types
        self.identity = identity

    async def identity_rules(self) -> IdentityRules:
        return await self.identity.rules()

    async def refuse_invalid(self, payload: TrackerPayload, at: list[str | int]) -> None:
        """Raise 422 if an event breaks the schema of a type in `reject` mode.

        `PUT /track` checks every payload of a batch this way before storing any,
        so a rejected payload never leaves the ones before it half-stored."""
        for index, event in enumerate(payload.events):
            compiled = await self.event_types.compiled(event.type)
            if compiled is None or compiled.definition.on_invalid != "reject":
                continue
            problem = compiled.problem(event.properties)
            if problem is not None:
                raise InvalidPayload.at(
                    [*at, "events", index, "properties"], problem, "schema_error"
                )

    async def apply(
        self,
        records: list[Record],
        profile: Document | None,
        session: Document | None,
        now: str,
        result: TrackResult,
    ) -> None:
        """Validate the payload's own events; apply valid ones to `profile` (if given)."""
        for index, record in records:
            if index is None:
                continue
            compiled = await self.event_types.compiled(record["type"])
            if compiled is None:
                continue
            problem = compiled.problem(record["properties"])
            if problem is not None:
                if compiled.definition.on_invalid == "reject":
                    raise InvalidPayload.at(
                        ["body", "events", index, "properties"], problem, "schema_error"
                    )
                record["metadata"]["valid"] = False
                record["metadata"]["error"] = problem
                result.errors.append(
                    {"event": record["id"], "type": record["type"], "msg": problem}
                )
                continue
            if profile is None:
                continue
            context = MappingContext(event=record, profile=profile, session=session)
            apply_mapping(compiled.rules, context, event_id=record["id"], now=now)
            if compiled.definition.consents:
                # the decision dates from when the person made it (the event's time)
                decided = record["metadata"]["time"]["create"]
                changed, warnings = apply_consent_update(
                    profile, record["properties"], await self.consent_types.all(), decided
                )
                log_changes(profile, changed, event_id=record["id"], now=now)
                result.warnings.extend(warnings)
