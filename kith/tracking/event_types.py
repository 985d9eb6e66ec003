"""Event types as the collector uses them: built-ins overridden by stored ones, compiled.

A JSON Schema is compiled once (fastjsonschema generates Python code for it) and
a mapping's paths are parsed once; the hot path only calls the results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fastjsonschema

from kith.config_documents import ConfigDocuments, DerivedConfig
from kith.domain.errors import InvalidPayload, NotFound
from kith.domain.event_library import BUILTIN_EVENT_TYPES
from kith.domain.event_type import EventType, event_type_document, event_type_from_document
from kith.domain.mapping import CompiledRule, RuleError

Validator = Callable[[Any], Any]


@dataclass(slots=True, frozen=True)
class CompiledEventType:
    definition: EventType
    validate: Validator | None
    rules: list[CompiledRule]

    def problem(self, properties: Any) -> str | None:
        """Why `properties` breaks the schema, or None when they are valid."""
        if self.validate is None:
            return None
        try:
            self.validate(properties)
        except fastjsonschema.JsonSchemaValueException as exc:
            return str(exc.message)
        return None


def compile_event_type(event_type: EventType) -> CompiledEventType:
    """Compile, or raise InvalidPayload locating what is wrong in the definition."""
    validate: Validator | None = None
    if event_type.schema is not None:
        try:
            validate = fastjsonschema.compile(event_type.schema)
        except (fastjsonschema.JsonSchemaDefinitionException, TypeError, ValueError) as exc:
            raise InvalidPayload.at(
                ["body", "schema"], f"not a usable JSON Schema: {exc}"
            ) from None
    rules: list[CompiledRule] = []
    for index, rule in enumerate(event_type.mapping):
        try:
            rules.append(CompiledRule.of(rule))
        except RuleError as exc:
            raise InvalidPayload.at(["body", "mapping", index, exc.field], str(exc)) from None
    return CompiledEventType(event_type, validate, rules)


_BUILTINS = {name: compile_event_type(t) for name, t in BUILTIN_EVENT_TYPES.items()}


class EventTypeRegistry:
    """Stored event types over the built-in library, compiled and cached."""

    def __init__(self, documents: ConfigDocuments) -> None:
        self._documents = documents
        self._compiled = DerivedConfig(documents, _compile_all)

    async def compiled(self, event_type: str) -> CompiledEventType | None:
        return (await self._compiled.get()).get(event_type)

    async def get(self, event_type: str) -> EventType:
        compiled = await self.compiled(event_type)
        if compiled is None:
            raise NotFound(f"Event type {event_type!r} not found")
        return compiled.definition

    async def all(self) -> list[EventType]:
        compiled = await self._compiled.get()
        return [compiled[name].definition for name in sorted(compiled)]

    async def put(self, event_type: EventType) -> EventType:
        compile_event_type(event_type)
        event_type.builtin = event_type.type in BUILTIN_EVENT_TYPES
        document = event_type_document(event_type)
        await self._documents.put(event_type.type, document)
        return event_type

    async def delete(self, event_type: str) -> None:
        """Delete a stored type; a built-in one falls back to the library's definition."""
        if not await self._documents.delete(event_type):
            raise NotFound(f"Event type {event_type!r} has no stored definition")


def _compile_all(documents: dict[str, dict[str, Any]]) -> dict[str, CompiledEventType]:
    """The library, with every stored definition compiled over it."""
    compiled = dict(_BUILTINS)
    for name, document in documents.items():
        compiled[name] = compile_event_type(_definition(document))
    return compiled


def _definition(document: dict[str, Any]) -> EventType:
    fields = {key: value for key, value in document.items() if key != "id"}
    return event_type_from_document(fields)
