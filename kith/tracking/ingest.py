"""Async storage (`options.async`, or a source whose default is async).

Accepting: the request fixes every id the pipeline would otherwise choose (the
event ids, the session id, and for a new visitor a freshly minted profile id),
appends the payload with its request facts to the durable ingest log in one
group commit, and answers with those ids at once.

Processing: the `IngestProcessor` reads the log in batches (as a feed consumer
of its own log, so it is claimed across processes and resumes after a crash)
and runs the same pipeline on each payload, those of one session or profile in
log order, others at the same time. Running a payload twice stores nothing
twice: its events carry their fixed ids, its session is known the second time,
and a minted profile id is loaded before it is created."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

import msgspec

from kith.domain.clock import iso, parse_iso, utcnow
from kith.domain.document import Document
from kith.domain.errors import KithError, Overloaded
from kith.domain.ids import new_id
from kith.domain.payload import Ref, TrackerPayload
from kith.domain.source import Source
from kith.storage.ports import INGEST_CONSUMER, START, FeedEntry, FeedPosition, Storage
from kith.tracking.enrichment import RequestInfo
from kith.tracking.plan import SourceLookup, TrackResult
from kith.tracking.track import BatchItem, Tracker, keys_of, loners

log = logging.getLogger(__name__)
ASYNC_WARNING = "processed asynchronously"
_MINTED = 100_000
INGEST_NAME = "@ingest"
BUSY = 8
"""Collector requests in flight from which this process counts as busy (a paced
client's requests rarely overlap this much; a burst's do)."""


def is_async(payload: TrackerPayload, source: Source) -> bool:
    """The payload's own `options.async` (only a boolean counts), else the source's default."""
    value = payload.options.get("async")
    return value if isinstance(value, bool) else source.async_


async def ingest_lag(storage: Storage) -> tuple[int, float]:
    """The ingest log's backlog, and how long its oldest payload not processed yet has
    waited (seconds; 0 when nothing waits)."""
    waiting = await storage.ingest.backlog()
    if not waiting:
        return 0, 0.0
    position = (await storage.feed.positions()).get(INGEST_CONSUMER, START)
    oldest = await storage.ingest.read(position, 1)
    if not oldest:
        return waiting, 0.0
    received = parse_iso(str(oldest[0][1]["received"]))
    return waiting, max(0.0, (utcnow() - received).total_seconds())


class RequestLoad:
    """How many collector requests this process is answering right now."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = 0


class AsyncIngest:
    """The accepting side; `backlog` is this process's view of the log's length."""

    def __init__(self, storage: Storage, *, max_backlog: int) -> None:
        self._storage = storage
        self.max_backlog = max_backlog
        self.backlog = 0
        self.accepted = 0
        self._counted = 0.0
        self._minted: OrderedDict[str, str] = OrderedDict()
        """Profile ids minted for new sessions still on their way through the log, so a
        burst of one new visitor's payloads is answered with one profile id."""

    async def refresh(self, *, every: float = 1.0) -> None:
        """Read the log's length again when the last count is older than `every` seconds:
        every process accepts, but only the one holding the processor's lease reads."""
        now = time.monotonic()
        if now - self._counted > every:
            self._counted = now
            self.backlog = await self._storage.ingest.backlog()

    def admit(self) -> None:
        if self.backlog >= self.max_backlog:
            raise Overloaded(
                f"The async ingest backlog is over {self.max_backlog} payloads; retry shortly"
            )

    async def accept(
        self, payload: TrackerPayload, info: RequestInfo, source: Source, *, profile_less: bool
    ) -> TrackResult:
        tracking = self._storage.tracking
        session_id = payload.session.id if payload.session else None
        profile_id: str | None = None
        mint: str | None = None
        if session_id is None:
            session_id = new_id()
            payload.session = Ref(session_id)
        elif not profile_less:
            session = await tracking.get_session(session_id)
            bound = ((session or {}).get("profile") or {}).get("id")
            if bound:
                profile_id = await tracking.resolve_profile_id(bound) or bound
        if not profile_less and profile_id is None:
            given = payload.profile.id if payload.profile else None
            known = await tracking.resolve_profile_id(given) if given else None
            if known is not None:
                profile_id = known
            elif given and source.static_profile_id:
                profile_id = given
            else:
                profile_id = mint = self._minted.get(session_id) or new_id()
                self._minted[session_id] = mint
                self._minted.move_to_end(session_id)
                if len(self._minted) > _MINTED:
                    self._minted.popitem(last=False)
        for event in payload.events:
            event.id = event.id or new_id()
        entry: Document = {
            "payload": msgspec.to_builtins(payload),
            "info": {"peer": info.peer, "headers": info.headers},
            "source": source.id,
            "profile_less": profile_less,
            "mint": mint,
            "received": iso(utcnow()),
        }
        await self._storage.ingest.append([entry])
        self.backlog += 1
        await self.refresh()
        self.accepted += 1
        return TrackResult(
            profile_id=None if profile_less else profile_id,
            session_id=session_id if payload.option("saveSession") else None,
            event_ids=[str(event.id) for event in payload.events],
            warnings=[ASYNC_WARNING],
        )


class IngestLogReader:
    """The ingest log as a feed runner reads it: from its start, forgetting what has
    been acknowledged as it goes."""

    def __init__(self, storage: Storage, ingest: AsyncIngest) -> None:
        self._storage = storage
        self._ingest = ingest
        self._trimmed: FeedPosition | None = None

    @property
    def start(self) -> FeedPosition:
        return FeedPosition(0, 0)

    async def read(self, after: FeedPosition, limit: int) -> list[FeedEntry]:
        log_ = self._storage.ingest
        if after != self._trimmed and after > FeedPosition(0, 0):
            await log_.trim(after)
            self._trimmed = after
        await self._ingest.refresh()
        return [FeedEntry(position, entry) for position, entry in await log_.read(after, limit)]


_Item = tuple[TrackerPayload, RequestInfo, str, bool, Any]
"""A logged payload as read back: payload, request, source id, profile-less, minted id."""


class IngestProcessor:
    """Runs the pipeline on the ingest log's payloads (a feed consumer of that log)."""

    name = INGEST_NAME

    def __init__(
        self,
        tracker: Tracker,
        sources: SourceLookup,
        *,
        ingest: AsyncIngest,
        load: RequestLoad,
        defer_seconds: float = 0.0,
    ) -> None:
        self._tracker = tracker
        self._sources = sources
        self._ingest = ingest
        self._load = load
        self._defer = defer_seconds
        self.processed = 0
        self.dropped = 0

    async def defer(self) -> None:
        """Accepting comes first: while this process answers at least `BUSY` collector
        requests, hold the batch back (up to `defer_seconds`, and never once the backlog
        is past half its bound), so a burst is acknowledged at the rate of the one-row
        append and processed when the load eases."""
        if self._defer <= 0:
            return
        deadline = time.monotonic() + self._defer
        while (
            self._load.active >= BUSY
            and self._ingest.backlog < self._ingest.max_backlog // 2
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
            await self._ingest.refresh()

    async def handle(self, entries: list[FeedEntry]) -> None:
        """Payloads sharing a session or profile id run one after another in log order;
        the unrelated ones are one group: one read of their sessions and profiles, one
        unit of work (`Tracker.track_group`); those the group leaves out run alone."""
        await self.defer()
        items = [self._item(entry.event) for entry in entries]
        runnable = [item for item in items if item is not None]
        single, ordered = loners([keys_of(payload, None) for payload, *_ in runnable])

        async def run(indexes: list[int]) -> None:
            for index in indexes:
                await self._process(runnable[index])

        await asyncio.gather(
            *(run(chain) for chain in ordered), self._group([runnable[index] for index in single])
        )
        self.processed += len(runnable)

    async def _group(self, items: list[_Item]) -> None:
        batch = [found for item in items if (found := await self._batch_item(item))]
        if not batch:
            return
        if not await self._tracker.groupable():  # each alone, at the same time
            await asyncio.gather(*(self._track(item) for item in batch))
            return
        done = await self._tracker.track_group(batch, partial=True)
        alone = []
        for item, result in zip(batch, done, strict=True):
            if isinstance(result, KithError):
                log.warning("async payload refused: %s", type(result).__name__)
                self.dropped += 1
            elif result is None:
                alone.append(self._track(item))
        await asyncio.gather(*alone)

    def _item(self, entry: Document) -> _Item | None:
        try:
            payload = msgspec.convert(entry["payload"], TrackerPayload)
        except (msgspec.ValidationError, KeyError):
            log.error("an ingest entry cannot be read; dropped")
            self.dropped += 1
            return None
        info = entry.get("info") or {}
        return (
            payload,
            RequestInfo(peer=info.get("peer"), headers=dict(info.get("headers") or {})),
            str(entry["source"]),
            bool(entry.get("profile_less")),
            entry.get("mint"),
        )

    async def _process(self, item: _Item) -> None:
        found = await self._batch_item(item)
        if found is not None:
            await self._track(found)

    async def _batch_item(self, item: _Item) -> BatchItem | None:
        """The payload with its source, or None (counted as dropped) if the source is gone."""
        payload, info, source_id, profile_less, mint = item
        source = await self._sources.cached(source_id)
        if source is None:
            log.warning("async payload of deleted source %s dropped", source_id)
            self.dropped += 1
            return None
        return BatchItem(payload, source, info, profile_less, mint)

    async def _track(self, item: BatchItem) -> None:
        try:
            await self._tracker.track(
                item.payload,
                item.info,
                profile_less=item.profile_less,
                source=item.source,
                mint=item.mint,
            )
        except Overloaded:
            raise  # the batch is retried
        except KithError as error:  # e.g. an event type in reject mode: nobody to answer
            log.warning("async payload refused: %s", type(error).__name__)
            self.dropped += 1
