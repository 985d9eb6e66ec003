"""What the rest of Kith may ask of storage: one protocol per concern.

An engine is a `Storage`: its life cycle, its locks, and one object per port
(`storage.tracking`, `storage.sources` ...), each implemented in a module of its
own in the engine's package. A new concern adds a port module here and a module
per engine; it never grows an existing class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from kith.storage.ports.api_keys import ApiKeyStore
from kith.storage.ports.common import Document, Page
from kith.storage.ports.config import ConfigStore
from kith.storage.ports.data import (
    DataReads,
    EventFilter,
    ProfileQuery,
    SessionFilter,
    StatsBy,
    StatsInterval,
)
from kith.storage.ports.deliveries import (
    DELIVERY_STATUSES,
    Delivery,
    DeliveryStats,
    DeliveryStatus,
    DeliveryStore,
    Outcome,
)
from kith.storage.ports.erasure import DataTable, Erased, ErasureStore
from kith.storage.ports.feed import START, FeedEntry, FeedPosition, FeedStore
from kith.storage.ports.ingest import INGEST_CONSUMER, IngestLog
from kith.storage.ports.jobs import Job, JobStatus, JobStore
from kith.storage.ports.migrations import Migrations
from kith.storage.ports.profiles import ProfileScan
from kith.storage.ports.sources import SourceStore
from kith.storage.ports.tracking import (
    IdentityRow,
    Locks,
    SessionTaken,
    TrackingStore,
    VisitLookup,
    VisitUnit,
    WriterStats,
)

ConfigListener = Callable[[str, str], None]
"""Called with (kind, key) when another process changed configuration."""


class Storage(Protocol):
    @property
    def kind(self) -> Literal["sqlite", "postgresql"]: ...
    @property
    def locks(self) -> Locks: ...
    @property
    def tracking(self) -> TrackingStore: ...
    @property
    def sources(self) -> SourceStore: ...
    @property
    def api_keys(self) -> ApiKeyStore: ...
    @property
    def config(self) -> ConfigStore: ...
    @property
    def data(self) -> DataReads: ...
    @property
    def erasure(self) -> ErasureStore: ...
    @property
    def feed(self) -> FeedStore: ...
    @property
    def jobs(self) -> JobStore: ...
    @property
    def deliveries(self) -> DeliveryStore: ...
    @property
    def profiles(self) -> ProfileScan: ...
    @property
    def ingest(self) -> IngestLog: ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def subscribe(self, listener: ConfigListener) -> None:
        """Call `listener(kind, key)` when another process changes configuration."""
        ...

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener()` on the event loop after each commit of this process's
        writer: feed consumers wake at once instead of waiting for their next poll."""
        ...

    def observe_commits(self, observer: Callable[[int], None]) -> None:
        """Call `observer(units)` right after each commit of this process's writer, with
        the number of units it committed; may be called before `start`. It runs in the
        writer (a thread on SQLite): it must be quick and thread-safe."""
        ...

    def writer_stats(self) -> WriterStats: ...


__all__ = [
    "DELIVERY_STATUSES",
    "INGEST_CONSUMER",
    "START",
    "ApiKeyStore",
    "ConfigListener",
    "ConfigStore",
    "DataReads",
    "DataTable",
    "Delivery",
    "DeliveryStats",
    "DeliveryStatus",
    "DeliveryStore",
    "Document",
    "Erased",
    "ErasureStore",
    "EventFilter",
    "FeedEntry",
    "FeedPosition",
    "FeedStore",
    "IdentityRow",
    "IngestLog",
    "Job",
    "JobStatus",
    "JobStore",
    "Locks",
    "Migrations",
    "Outcome",
    "Page",
    "ProfileQuery",
    "ProfileScan",
    "SessionFilter",
    "SessionTaken",
    "SourceStore",
    "StatsBy",
    "StatsInterval",
    "Storage",
    "TrackingStore",
    "VisitLookup",
    "VisitUnit",
    "WriterStats",
]
