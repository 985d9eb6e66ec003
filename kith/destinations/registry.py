"""The kind registry: every destination kind, found through the entry-point group
`kith.destinations`.

Kith's own kinds register exactly as a plugin package's do: an entry point in the
group names a `DestinationKind` subclass (`webhook =
"kith.destinations.kinds.webhook:Webhook"`). A plugin adds its own entry point."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from kith.destinations.kind import DestinationKind
from kith.domain.document import Document

log = logging.getLogger(__name__)
GROUP = "kith.destinations"
KindClass = type[DestinationKind]  # type: ignore[type-arg]


class KindRegistry:
    def __init__(self, kinds: Iterable[KindClass] = ()) -> None:
        self._kinds: dict[str, KindClass] = {}
        for kind in kinds:
            self.add(kind)

    @classmethod
    def installed(cls) -> KindRegistry:
        """Every kind of every installed package's `kith.destinations` entry points."""
        registry = cls()
        for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
            try:
                kind = point.load()
            except Exception:  # a broken plugin must not take the built-ins down
                log.exception(
                    "could not load the destination kind %s (%s)", point.name, point.value
                )
                continue
            registry.add(kind)
        return registry

    def add(self, kind: KindClass) -> None:
        if kind.kind in self._kinds and self._kinds[kind.kind] is not kind:
            raise ValueError(f"destination kind {kind.kind!r} is registered twice")
        self._kinds[kind.kind] = kind

    def get(self, name: str) -> KindClass | None:
        return self._kinds.get(name)

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def describe(self) -> list[Document]:
        """Every kind: its config schema, secret fields and docs."""
        return [
            {
                "kind": kind.kind,
                "name": kind.name,
                "secrets": list(kind.secrets),
                "batch_size": kind.batch_size,
                "config_schema": kind.config_model.model_json_schema(by_alias=True),
                "docs": kind.docs(),
            }
            for kind in (self._kinds[name] for name in self.names())
        ]
