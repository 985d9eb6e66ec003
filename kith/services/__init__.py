"""The service layer: what the HTTP handlers and the command line call.

`build_services(settings)` is the composition root's product: storage, the
configuration registries, the collector pipeline and every service, built once.
A handler parses its request, calls one service method and serialises the
answer; locking, storage calls and the rules live here and below."""

from __future__ import annotations

from dataclasses import dataclass, field

from kith.config import Settings
from kith.config_documents import ConfigDocuments
from kith.feed import FeedConsumer, FeedRunner
from kith.identity.counters import IdentityCounters
from kith.identity.settings import IdentitySettingsStore
from kith.jobs import JobKind, JobRunner, JobService
from kith.services.api_keys import KeyService
from kith.services.identity import IdentityService
from kith.services.profiles import ProfileService
from kith.services.records import RecordService
from kith.services.sources import SourceRegistry
from kith.storage import open_storage
from kith.storage.ports import Storage
from kith.tracking.consent_types import ConsentTypeRegistry
from kith.tracking.enrichment import SessionEnrichment
from kith.tracking.event_types import EventTypeRegistry
from kith.tracking.profile_changes import ProfileChanges
from kith.tracking.track import Tracker


@dataclass(slots=True)
class ConfigCaches:
    """One cached `ConfigDocuments` per kind of configuration document, made on first use."""

    storage: Storage
    ttl: float
    kinds: dict[str, ConfigDocuments] = field(default_factory=dict)

    def of(self, kind: str) -> ConfigDocuments:
        documents = self.kinds.get(kind)
        if documents is None:
            documents = self.kinds[kind] = ConfigDocuments(self.storage, kind, self.ttl)
        return documents

    def invalidate(self, kind: str) -> None:
        documents = self.kinds.get(kind)
        if documents is not None:
            documents.invalidate()


@dataclass(slots=True)
class Services:
    settings: Settings
    storage: Storage
    configs: ConfigCaches
    sources: SourceRegistry
    keys: KeyService
    event_types: EventTypeRegistry
    consent_types: ConsentTypeRegistry
    identity: IdentitySettingsStore
    identities: IdentityService
    """A person's identity index and back-office merges."""
    identity_counters: IdentityCounters
    """Merges made and refused by this process (for `/metrics`)."""
    enrichment: SessionEnrichment
    tracker: Tracker
    profiles: ProfileService
    records: RecordService
    jobs: JobService
    feed: FeedRunner
    job_runner: JobRunner

    async def start(self) -> None:
        await self.storage.start()
        self.storage.subscribe(self.config_changed)
        await self.keys.bootstrap(self.settings.bootstrap_admin_key)

    def start_background(self) -> None:
        """Feed consumers and the job runner: `kith serve` runs them, one-shot commands
        (`kith keys`, `kith export` ...) do not."""
        self.feed.start()
        self.job_runner.start()

    async def stop_background(self) -> None:
        await self.job_runner.stop()
        await self.feed.stop()

    def config_changed(self, kind: str, key: str) -> None:
        """Another process changed configuration: drop this process's cached copy."""
        if kind == "source":
            self.sources.invalidate(key)
        else:
            self.configs.invalidate(kind)

    async def close(self) -> None:
        await self.storage.close()
        self.enrichment.close()


def build_services(settings: Settings, storage: Storage | None = None) -> Services:
    storage = storage or open_storage(settings)
    consumers: list[FeedConsumer] = []
    job_kinds: list[JobKind] = []
    configs = ConfigCaches(storage, settings.config_cache_ttl)
    sources = SourceRegistry(storage, settings.source_cache_ttl)
    enrichment = SessionEnrichment(settings.trusted_proxy_networks, settings.geoip_db)
    event_types = EventTypeRegistry(configs.of("event-type"))
    consent_types = ConsentTypeRegistry(configs.of("consent-type"))
    identity = IdentitySettingsStore(configs.of("setting"))
    changes = ProfileChanges(event_types, consent_types, identity)
    counters = IdentityCounters()
    tracker = Tracker(
        storage,
        sources,
        enrichment,
        changes,
        reject_bots=settings.reject_bots,
        counters=counters,
    )
    job_runner = JobRunner(storage.jobs, job_kinds, lease=settings.lease_seconds)
    return Services(
        settings=settings,
        storage=storage,
        configs=configs,
        sources=sources,
        keys=KeyService(storage),
        event_types=event_types,
        consent_types=consent_types,
        identity=identity,
        identities=IdentityService(storage, identity, counters),
        identity_counters=counters,
        enrichment=enrichment,
        tracker=tracker,
        profiles=ProfileService(storage, consent_types),
        records=RecordService(storage),
        jobs=JobService(storage.jobs, job_runner.wake),
        feed=FeedRunner(
            storage,
            consumers,
            batch=settings.feed_batch,
            poll=settings.feed_poll_seconds,
            lease=settings.lease_seconds,
        ),
        job_runner=job_runner,
    )
