"""Segments and computed traits as every process uses them, compiled once per change.

Segments are configuration documents of kind `segment` (`{"id", "name",
"enabled", "condition"}`; a null condition is a manual segment); computed traits
of kind `computed-trait`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kith.conditions import Condition, compile_condition
from kith.config_documents import ConfigDocuments
from kith.domain.computed import TraitDefinition
from kith.domain.document import Document

log = logging.getLogger(__name__)
SEGMENT_KIND = "segment"
TRAIT_KIND = "computed-trait"


@dataclass(slots=True, frozen=True)
class Segment:
    id: str
    enabled: bool
    condition: Condition | None

    @classmethod
    def of(cls, document: Document) -> Segment:
        text = document.get("condition")
        return cls(
            id=str(document["id"]),
            enabled=bool(document.get("enabled", True)),
            condition=compile_condition(text) if text else None,
        )


@dataclass(slots=True, frozen=True)
class Definitions:
    segments: list[Segment]
    """Enabled condition segments, by id."""
    traits: list[TraitDefinition]
    by_type: dict[str, list[TraitDefinition]]

    @property
    def empty(self) -> bool:
        return not self.segments and not self.traits


class SegmentCatalog:
    def __init__(self, segments: ConfigDocuments, traits: ConfigDocuments) -> None:
        self._segments = segments
        self._traits = traits
        self._built: tuple[tuple[int, int], Definitions] | None = None

    async def current(self) -> Definitions:
        segment_docs = await self._segments.all()
        trait_docs = await self._traits.all()
        versions = (self._segments.version, self._traits.version)
        if self._built is not None and self._built[0] == versions:
            return self._built[1]
        segments: list[Segment] = []
        for document in sorted(segment_docs.values(), key=lambda doc: str(doc["id"])):
            try:
                segment = Segment.of(document)
            except Exception:  # saved before a change of the condition language
                log.exception("segment %s cannot be evaluated", document.get("id"))
                continue
            if segment.enabled and segment.condition is not None:
                segments.append(segment)
        traits: list[TraitDefinition] = []
        for document in sorted(trait_docs.values(), key=lambda doc: str(doc["id"])):
            try:
                traits.append(TraitDefinition.of(document))
            except Exception:
                log.exception("computed trait %s cannot be kept", document.get("id"))
        by_type: dict[str, list[TraitDefinition]] = {}
        for trait in traits:
            by_type.setdefault(trait.event_type, []).append(trait)
        built = Definitions(segments, traits, by_type)
        self._built = (versions, built)
        return built
