"""Segments and computed traits as the admin API sees them.

Saving a segment queues its refresh (every profile is re-evaluated by a job);
saving a computed trait queues its back-fill. Reading a profile shows windowed
traits as of now, so a value never counts events that aged out."""

from __future__ import annotations

from kith.conditions import compile_condition, condition_problem
from kith.config_documents import ConfigDocuments
from kith.domain.clock import micros
from kith.domain.computed import TraitDefinition
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload, NotFound
from kith.jobs import JobService
from kith.segments.catalog import SegmentCatalog
from kith.segments.refresh import BACKFILL_KIND, REFRESH_KIND, Clock
from kith.segments.traits import refresh_values
from kith.storage.ports import Job, Storage


class SegmentService:
    def __init__(
        self,
        storage: Storage,
        segments: ConfigDocuments,
        traits: ConfigDocuments,
        catalog: SegmentCatalog,
        jobs: JobService,
        clock: Clock,
    ) -> None:
        self._storage = storage
        self._segments = segments
        self._traits = traits
        self._catalog = catalog
        self._jobs = jobs
        self._clock = clock

    # segments ------------------------------------------------------------------------
    async def segments(self) -> list[Document]:
        return [doc for _, doc in sorted((await self._segments.all()).items())]

    async def segment(self, segment_id: str) -> Document:
        found = (await self._segments.all()).get(segment_id)
        if found is None:
            raise NotFound(f"Segment {segment_id!r} not found")
        return {**found, "size": await self._storage.profiles.in_segment(segment_id)}

    async def put_segment(self, segment_id: str, segment: Document) -> tuple[Document, Job]:
        """Save, then queue the refresh that makes every profile's membership true."""
        text = segment.get("condition")
        if text:
            problem = condition_problem(text)
            if problem is not None:
                raise InvalidPayload.at(["body", "condition"], problem, "condition_syntax")
            scopes = compile_condition(text).scopes - {"profile"}
            if scopes:
                raise InvalidPayload.at(
                    ["body", "condition"],
                    "a segment's condition reads the profile only (profile@...), not "
                    + ", ".join(f"{scope}@" for scope in sorted(scopes)),
                    "condition_scope",
                )
        document = {**segment, "id": segment_id}
        await self._segments.put(segment_id, document)
        return document, await self.refresh(segment_id)

    async def delete_segment(self, segment_id: str) -> Job:
        """Delete; a refresh then takes the segment off every profile (manual members
        put there by flow nodes stay until a node removes them)."""
        if not await self._segments.delete(segment_id):
            raise NotFound(f"Segment {segment_id!r} not found")
        return await self._queue_refresh(segment_id)

    async def refresh(self, segment_id: str) -> Job:
        if segment_id not in await self._segments.all():
            raise NotFound(f"Segment {segment_id!r} not found")
        return await self._queue_refresh(segment_id)

    async def _queue_refresh(self, segment_id: str) -> Job:
        params = {"segments": [segment_id], "traits": False}
        return await self._jobs.queue(REFRESH_KIND, params, key=f"segment:{segment_id}")

    # computed traits -------------------------------------------------------------------
    async def traits(self) -> list[Document]:
        return [doc for _, doc in sorted((await self._traits.all()).items())]

    async def trait(self, trait_id: str) -> Document:
        found = (await self._traits.all()).get(trait_id)
        if found is None:
            raise NotFound(f"Computed trait {trait_id!r} not found")
        return found

    async def put_trait(self, trait_id: str, trait: Document) -> tuple[Document, Job]:
        """Save, then queue the back-fill that computes it for every profile."""
        document = {**trait, "id": trait_id}
        try:
            TraitDefinition.of(document)
        except ValueError as error:
            field = "window" if "window" in str(error) else "property"
            raise InvalidPayload.at(["body", field], str(error), "value_error") from None
        await self._traits.put(trait_id, document)
        job = await self._jobs.queue(BACKFILL_KIND, {"trait": trait_id}, key=f"trait:{trait_id}")
        return document, job

    async def delete_trait(self, trait_id: str) -> None:
        if not await self._traits.delete(trait_id):
            raise NotFound(f"Computed trait {trait_id!r} not found")

    async def present(self, profile: Document) -> None:
        """Windowed traits as of now, for a profile about to be shown."""
        definitions = await self._catalog.current()
        if definitions.traits:
            refresh_values(profile, definitions, micros(self._clock()))
