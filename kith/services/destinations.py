"""Destinations as the admin API sees them (API.md section 7).

A destination is a configuration document of kind `destination`. Secrets in its
`config` (the fields its kind names) are write-only: reads show `"***"`, and a
`PUT` that sends `"***"` (or leaves the field out) keeps the stored value, so
read-modify-write works. A webhook without a secret gets one, shown once, in the
answer to that `PUT`."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from kith.destinations.kind import SECRET_MASK, Attempt, Outgoing
from kith.destinations.metrics import stats_document
from kith.destinations.queueing import DestinationCatalog
from kith.destinations.routing import DestinationInvalid, Route, compile_destination
from kith.destinations.sender import DeliverySender
from kith.domain.clock import iso, utcnow
from kith.domain.document import Document
from kith.domain.errors import InvalidPayload, NotFound
from kith.domain.ids import new_id
from kith.domain.profile import new_profile
from kith.storage.ports import Delivery, DeliveryStatus, Page, Storage

FIELDS = (
    "name",
    "enabled",
    "kind",
    "on",
    "event_types",
    "sources",
    "condition",
    "mapping",
    "config",
    "max_age",
    "concurrency",
    "debounce",
)
DEFAULTS: Document = {
    "name": "",
    "enabled": True,
    "on": "event",
    "event_types": [],
    "sources": [],
    "config": {},
}


def _iso_micros(value: int | None) -> str | None:
    return None if value is None else iso(datetime.fromtimestamp(value / 1_000_000, UTC))


def delivery_view(delivery: Delivery) -> Document:
    return {
        "id": delivery.id,
        "event": delivery.event_id,
        "profile": delivery.profile_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt": _iso_micros(delivery.next_attempt)
        if delivery.status == "pending"
        else None,
        "created": _iso_micros(delivery.created),
        "finished": _iso_micros(delivery.finished),
    }


def attempt_view(attempt: Attempt) -> Document:
    return {
        "delivered": attempt.delivered,
        "status": attempt.status,
        "error": attempt.error,
        "retry": attempt.retry,
        "answer": attempt.answer,
    }


class DestinationService:
    def __init__(
        self, storage: Storage, catalog: DestinationCatalog, sender: DeliverySender
    ) -> None:
        self._storage = storage
        self._catalog = catalog
        self._documents = catalog.documents
        self._sender = sender

    def kinds(self) -> list[Document]:
        return self._catalog.registry.describe()

    def _secrets(self, kind: str) -> tuple[str, ...]:
        kind_class = self._catalog.registry.get(kind)
        return kind_class.secrets if kind_class is not None else ()

    def masked(self, document: Document) -> Document:
        view = copy.deepcopy(document)
        config = view.get("config") or {}
        for name in self._secrets(str(view.get("kind"))):
            if config.get(name) is not None:
                config[name] = SECRET_MASK
        return view

    async def _stored(self, destination_id: str) -> Document:
        found = (await self._documents.all()).get(destination_id)
        if found is None:
            raise NotFound(f"Destination {destination_id!r} not found")
        return found

    async def _route(self, destination_id: str) -> Route:
        document = await self._stored(destination_id)
        try:
            return compile_destination(document, self._catalog.registry, self._catalog.defaults)
        except DestinationInvalid as error:
            raise _invalid(error) from None

    async def destinations(self) -> list[Document]:
        documents = await self._documents.all()
        return [self.masked(doc) for _, doc in sorted(documents.items())]

    async def destination(self, destination_id: str) -> Document:
        view = self.masked(await self._stored(destination_id))
        stats = await self._storage.deliveries.stats(destination_id)
        view["stats"] = stats_document(stats, self._sender.metrics.get(destination_id))
        return view

    async def put(self, destination_id: str, fields: Document) -> Document:
        """Check and save; the answer shows a generated secret in clear, once."""
        before = (await self._documents.all()).get(destination_id)
        document: Document = {name: copy.deepcopy(fields.get(name)) for name in FIELDS}
        for name, default in DEFAULTS.items():
            if document[name] is None:
                document[name] = copy.deepcopy(default)
        document["id"] = destination_id
        config = document["config"] = dict(document.get("config") or {})
        secrets = self._secrets(str(document["kind"]))
        same_kind = before is not None and before.get("kind") == document["kind"]
        for name in secrets:
            if config.get(name) in (None, SECRET_MASK):
                kept = (before or {}).get("config", {}).get(name) if same_kind else None
                if kept is not None:
                    config[name] = kept
                elif config.get(name) == SECRET_MASK:
                    raise InvalidPayload.at(
                        ["body", "config", name], "No stored value to keep: send the secret"
                    )
        kind_class = self._catalog.registry.get(str(document["kind"]))
        generated = kind_class.generated(config) if kind_class is not None else {}
        config.update(generated)
        try:
            compile_destination(document, self._catalog.registry, self._catalog.defaults)
        except DestinationInvalid as error:
            raise _invalid(error) from None
        await self._documents.put(destination_id, document)
        self._sender.reconfigure()
        answer = self.masked(document)
        answer["config"].update(generated)
        return answer

    async def delete(self, destination_id: str) -> None:
        if not await self._documents.delete(destination_id):
            raise NotFound(f"Destination {destination_id!r} not found")
        await self._storage.deliveries.purge(destination_id)
        self._sender.reconfigure()

    async def deliveries(
        self, destination_id: str, status: DeliveryStatus | None, cursor: str | None, limit: int
    ) -> Page[Document]:
        await self._stored(destination_id)
        page = await self._storage.deliveries.page(destination_id, status, cursor, limit)
        return Page([delivery_view(d) for d in page.items], page.next)

    async def replay(
        self,
        destination_id: str,
        status: DeliveryStatus,
        created_from: int | None,
        created_to: int | None,
    ) -> int:
        route = await self._route(destination_id)
        count = await self._storage.deliveries.replay(
            destination_id, status, created_from, created_to, route.max_age
        )
        self._sender.wake()
        return count

    async def test(self, destination_id: str) -> Document:
        """Send one sample payload now (not queued, no retries) and answer what the
        receiver said."""
        route = await self._route(destination_id)
        now = iso(utcnow())
        profile = new_profile(new_id(), now)
        profile["data"]["contact"]["email"]["main"] = "test@example.com"
        scope: Document = {"profile": profile}
        if route.on == "event":
            scope["event"] = _sample_event(profile["id"], now)
        kind = type(route.kind)(route.kind.config, route.kind.mapping)
        await kind.open(1)
        try:
            attempt = await kind.send([Outgoing(new_id(), route.body(scope))])
        finally:
            await kind.close()
        return attempt_view(attempt)


def _sample_event(profile_id: str, now: str) -> Document:
    event_type = "destination-test"
    return {
        "id": new_id(),
        "type": event_type,
        "name": "Destination Test",
        "metadata": {
            "time": {"insert": now, "create": now},
            "status": "collected",
            "valid": True,
            "error": None,
            "profile_less": False,
            "channel": None,
        },
        "source": {"id": "@internal"},
        "session": None,
        "profile": {"id": profile_id},
        "properties": {"test": True},
        "context": {},
        "tags": [],
    }


def _invalid(error: DestinationInvalid) -> InvalidPayload:
    return InvalidPayload(
        [
            {"loc": ["body", *loc], "msg": msg, "type": "destination_invalid"}
            for loc, msg in error.problems
        ]
    )
