"""Queueing deliveries: inside the collector's unit of work, or from a flow.

`DeliveryStep` runs in the collector pipeline after the event types and sync
flows; it adds delivery rows to the request's unit of work, so they commit with
the events that cause them (nothing acknowledged is lost to a crash). The body
of an event delivery is rendered there, from the event and profile as the
request leaves them. A profile destination gets one row per debounce window: the
row waits `debounce` seconds and while it waits, further changes of that profile
add nothing (the store skips a row whose destination and profile are already
waiting); its body is the profile as it is when sent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kith.config_documents import ConfigDocuments, DerivedConfig
from kith.destinations.registry import KindRegistry
from kith.destinations.routing import (
    DestinationDefaults,
    DestinationInvalid,
    Route,
    Routing,
    compile_destination,
)
from kith.domain.document import Document
from kith.domain.errors import NotFound
from kith.domain.ids import new_id
from kith.storage.ports import Delivery, Storage
from kith.tracking.plan import Visit

log = logging.getLogger(__name__)
DESTINATION_KIND = "destination"


class DestinationCatalog:
    """The compiled destinations every process routes with, rebuilt when they change."""

    def __init__(
        self, documents: ConfigDocuments, registry: KindRegistry, defaults: DestinationDefaults
    ) -> None:
        self.documents = documents
        self.registry = registry
        self.defaults = defaults
        self._routing = DerivedConfig(documents, self._build)

    def _build(self, documents: dict[str, Document]) -> Routing:
        routes = []
        for document in documents.values():
            try:
                routes.append(compile_destination(document, self.registry, self.defaults))
            except DestinationInvalid as error:  # e.g. a plugin that provided the kind is gone
                log.error("destination %s cannot run: %s", document.get("id"), error)
        return Routing.of(routes)

    async def routing(self) -> Routing:
        return await self._routing.get()


def _scope(event: Document | None, profile: Document | None, session: Document | None) -> Document:
    scope: Document = {}
    if event is not None:
        scope["event"] = event
    if profile is not None:
        scope["profile"] = profile
    if session is not None:
        scope["session"] = session
    return scope


def event_delivery(route: Route, scope: Document) -> Delivery:
    event, profile = scope.get("event") or {}, scope.get("profile")
    return Delivery(
        id=new_id(),
        destination=route.id,
        event_id=event.get("id"),
        profile_id=profile["id"] if profile else None,
        body=route.body(scope),
        max_age=route.max_age,
    )


class DeliveryStep:
    """The pipeline step that queues deliveries in the request's unit of work."""

    def __init__(self, catalog: DestinationCatalog) -> None:
        self._catalog = catalog

    async def after_events(self, visit: Visit) -> None:
        if not (visit.stores_events or visit.profile_less):
            return
        routing = await self._catalog.routing()
        if not routing.active:
            return
        deliveries = visit.unit.deliveries
        if routing.by_type:
            for _, record in visit.records:
                routes = routing.for_event(record)
                if not routes:
                    continue
                scope = _scope(record, visit.profile, visit.session)
                deliveries.extend(event_delivery(r, scope) for r in routes if r.accepts(scope))
        if routing.on_profile and visit.profile is not None:
            for route in routing.on_profile:
                cause = self._cause(route, visit)
                if cause is not None:
                    deliveries.append(
                        Delivery(
                            id=new_id(),
                            destination=route.id,
                            event_id=cause.get("id"),
                            profile_id=visit.profile["id"],
                            body=None,
                            delay=route.debounce,
                            max_age=route.max_age,
                            debounce=visit.profile["id"],
                        )
                    )

    @staticmethod
    def _cause(route: Route, visit: Visit) -> Document | None:
        """The first event of the request that passes the route's types, sources and
        condition: it changed the profile, for this destination."""
        for _, record in visit.records:
            if route.matches(record):
                scope = _scope(record, visit.profile, visit.session)
                if route.accepts(scope):
                    return record
        return None


class DestinationQueue:
    """Queues a delivery outside a collector request (the `send-to-destination` node):
    committed on return, then sent with the destination's retries."""

    def __init__(
        self, storage: Storage, catalog: DestinationCatalog, wake: Callable[[], None]
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._wake = wake

    async def enqueue(self, destination: str, event: Document, profile: Document | None) -> str:
        routing = await self._catalog.routing()
        route = routing.routes.get(destination)
        if route is None:
            raise NotFound(f"No destination {destination!r} (or it cannot run)")
        if not route.enabled:
            raise NotFound(f"Destination {destination!r} is disabled")
        scope: dict[str, Any] = _scope(event, profile, None)
        if route.on == "profile":
            scope.pop("event", None)
        delivery = event_delivery(route, scope)
        await self._storage.deliveries.add([delivery])
        self._wake()
        return delivery.id
