"""Applying an event type's mapping to a profile, and the field change log.

Every rule that changes a field records `profile.metadata.fields[path] =
{time, event}`: merges use it to pick the most recent value of a field, and
users can see which event last wrote what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kith.domain.document import Document
from kith.domain.event_type import MappingRule
from kith.notation import MISSING, DotPath, delete_path, get_path, parse_path, set_path
from kith.notation.templates import expand_keys

Number = int | float


class RuleError(ValueError):
    """A mapping rule that cannot work; `field` is `to` or `from`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(slots=True, frozen=True)
class CompiledRule:
    source: DotPath | None
    constant: Any
    target: DotPath
    op: str

    @classmethod
    def of(cls, rule: MappingRule) -> CompiledRule:
        """Parse once; raise RuleError naming the part that is wrong."""
        try:
            target = parse_path(rule.to, scope_required=True)
        except ValueError as exc:
            raise RuleError("to", str(exc)) from None
        if target.scope != "profile":
            raise RuleError("to", f"must be a profile@ path, not {rule.to!r}")
        if target.keys[0] in ("id", "ids", "metadata"):
            raise RuleError("to", f"may not write profile@{target.keys[0]}")
        source: DotPath | None = None
        constant: Any = rule.from_
        if isinstance(rule.from_, str) and "@" in rule.from_:
            scope = rule.from_.split("@", 1)[0].strip()
            if scope in ("event", "profile", "session"):
                try:
                    source = parse_path(rule.from_)
                except ValueError as exc:
                    raise RuleError("from", str(exc)) from None
                constant = None
        if source is None and constant is None and rule.op not in ("increment", "delete"):
            raise RuleError("from", f"op {rule.op!r} needs a `from` path or constant")
        return cls(source, constant, target, rule.op)


@dataclass(slots=True)
class MappingContext:
    """The documents a rule may read from, by scope."""

    event: Document
    profile: Document
    session: Document | None

    def read(self, path: DotPath) -> Any:
        document = {"event": self.event, "profile": self.profile, "session": self.session}.get(
            path.scope or "event"
        )
        return MISSING if document is None else get_path(document, path.keys)


def _absent(value: Any) -> bool:
    return value is MISSING or value is None


def _number(value: Any) -> Number | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
        return int(parsed) if parsed.is_integer() and "." not in value else parsed
    return None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


TRIMMED_AREAS = (("data", "contact"), ("data", "identifier"))
"""Where text is stored without surrounding whitespace: contact details and customer
ids are compared and shown, and " ann@x.io" is nobody's real address."""


def _trimmed(keys: tuple[str, ...], value: Any) -> Any:
    if keys[:2] not in TRIMMED_AREAS:
        return value
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [item.strip() if isinstance(item, str) else item for item in value]
    return value


def apply_rule(rule: CompiledRule, context: MappingContext) -> str | None:
    """Apply one rule; return the dotted path it changed, or None if nothing changed."""
    keys = expand_keys(rule.target.keys, context.read)
    if keys is None:
        return None
    profile = context.profile
    value = context.read(rule.source) if rule.source is not None else rule.constant
    value = _trimmed(keys, value)
    current = get_path(profile, keys)
    op = rule.op
    if op == "delete":
        return ".".join(keys) if delete_path(profile, keys) else None
    if op == "increment":
        step = _number(value) if not _absent(value) else 1
        base = _number(current) if not _absent(current) else 0
        if step is None or base is None:
            return None
        set_path(profile, keys, base + step)
        return ".".join(keys)
    if _absent(value):
        return None
    if op == "set":
        if current == value:
            return None
        set_path(profile, keys, value)
    elif op == "set_if_missing":
        if not (_absent(current) or current == ""):
            return None
        set_path(profile, keys, value)
    elif op == "add":
        amount = _number(value)
        base = _number(current) if not _absent(current) else 0
        if amount is None or base is None:
            return None
        set_path(profile, keys, base + amount)
    elif op == "append_unique":
        items = (
            list(current) if isinstance(current, list) else ([] if _absent(current) else [current])
        )
        added = [item for item in _as_list(value) if item not in items]
        if not added:
            return None
        for item in added:
            if item not in items:
                items.append(item)
        set_path(profile, keys, items)
    elif op == "remove":
        if not isinstance(current, list):
            return None
        unwanted = _as_list(value)
        kept = [item for item in current if item not in unwanted]
        if len(kept) == len(current):
            return None
        set_path(profile, keys, kept)
    else:  # pragma: no cover - ops are validated when the event type is stored
        raise ValueError(f"unknown op {op!r}")
    return ".".join(keys)


def apply_mapping(
    rules: list[CompiledRule], context: MappingContext, *, event_id: str, now: str
) -> list[str]:
    """Apply every rule in order; log each changed field; return the changed paths."""
    changed: list[str] = []
    for rule in rules:
        path = apply_rule(rule, context)
        if path is not None:
            changed.append(path)
    log_changes(context.profile, changed, event_id=event_id, now=now)
    return changed


def log_changes(profile: Document, paths: list[str], *, event_id: str, now: str) -> None:
    if not paths:
        return
    fields = profile.setdefault("metadata", {}).setdefault("fields", {})
    for path in paths:
        fields[path] = {"time": now, "event": event_id}
