"""The service layer: what the HTTP handlers and the command line call.

`build_services(settings)` is the composition root's product: storage, the
configuration registries, the collector pipeline and every service, built once.
A handler parses its request, calls one service method and serialises the
answer; locking, storage calls and the rules live here and below."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kith.config import Settings
from kith.config_documents import ConfigDocuments
from kith.destinations.lane import LaneSettings
from kith.destinations.metrics import delivery_metrics
from kith.destinations.queueing import (
    DESTINATION_KIND,
    DeliveryStep,
    DestinationCatalog,
    DestinationQueue,
)
from kith.destinations.registry import KindRegistry
from kith.destinations.retry import RetryPolicy
from kith.destinations.routing import DestinationDefaults
from kith.destinations.sender import DeliverySender
from kith.domain.clock import utcnow
from kith.feed import FeedConsumer, FeedRunner
from kith.identity.counters import IdentityCounters
from kith.identity.settings import IdentitySettingsStore
from kith.jobs import JobKind, JobRunner, JobService
from kith.metrics import MetricsRegistry
from kith.metrics.builtin import (
    feed_metrics,
    identity_metrics,
    ingest_metrics,
    job_metrics,
    stored_event_metrics,
    writer_metrics,
)
from kith.segments.catalog import SEGMENT_KIND, TRAIT_KIND, SegmentCatalog
from kith.segments.live import LiveSegments
from kith.segments.metrics import segment_metrics
from kith.segments.refresh import Clock, ProfileWalk, TraitBackfill
from kith.segments.schedule import RefreshSchedule
from kith.segments.traits import ComputedTraits
from kith.services.api_keys import KeyService
from kith.services.destinations import DestinationService
from kith.services.flows import FlowService
from kith.services.identity import IdentityService
from kith.services.profiles import ProfileService
from kith.services.records import RecordService
from kith.services.redirects import REDIRECT_KIND, RedirectService
from kith.services.segments import SegmentService
from kith.services.sources import SourceRegistry
from kith.storage import open_storage
from kith.storage.ports import Storage
from kith.tracking.consent_types import ConsentTypeRegistry
from kith.tracking.enrichment import SessionEnrichment
from kith.tracking.event_types import EventTypeRegistry
from kith.tracking.ingest import AsyncIngest, IngestLogReader, IngestProcessor, RequestLoad
from kith.tracking.profile_changes import ProfileChanges
from kith.tracking.stored import StoredEvents
from kith.tracking.track import Tracker
from kith.workflows.async_flows import AsyncFlows
from kith.workflows.catalog import FLOW_KIND, RULE_KIND, FlowCatalog
from kith.workflows.metrics import flow_metrics
from kith.workflows.registry import NodeRegistry
from kith.workflows.runs import FlowRunLog
from kith.workflows.services import NodeServices, node_services
from kith.workflows.sync import SyncFlows


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
    flows: FlowService
    node_services: NodeServices
    destinations: DestinationService
    sender: DeliverySender
    segments: SegmentService
    schedule: RefreshSchedule
    redirects: RedirectService
    ingest: AsyncIngest
    ingest_processor: IngestProcessor
    load: RequestLoad
    ingest_runner: FeedRunner
    metrics: MetricsRegistry
    """What `/metrics` reports; every part adds to it (see `kith.metrics.registry`)."""

    async def start(self) -> None:
        await self.storage.start()
        self.storage.subscribe(self.config_changed)
        await self.keys.bootstrap(self.settings.bootstrap_admin_key)
        self.metrics.start()

    def start_background(self) -> None:
        """Feed consumers and the job runner: `kith serve` runs them, one-shot commands
        (`kith keys`, `kith export` ...) do not."""
        self.feed.start()
        self.ingest_runner.start()
        self.job_runner.start()
        self.schedule.start()
        self.sender.start()

    async def stop_background(self) -> None:
        await self.sender.stop()
        await self.schedule.stop()
        await self.job_runner.stop()
        await self.ingest_runner.stop()
        await self.feed.stop()

    def config_changed(self, kind: str, key: str) -> None:
        """Another process changed configuration: drop this process's cached copy."""
        if kind == "source":
            self.sources.invalidate(key)
        else:
            self.configs.invalidate(kind)

    async def close(self) -> None:
        await self.metrics.stop()
        await self.node_services.close()
        await self.storage.close()
        self.enrichment.close()


def build_services(
    settings: Settings,
    storage: Storage | None = None,
    *,
    clock: Clock = utcnow,
    metrics_dir: Path | None = None,
) -> Services:
    """`clock` is what segment refreshes and windowed traits take as now (tests move it);
    `metrics_dir` is given to the workers of `kith serve --workers N` (their metric files)."""
    storage = storage or open_storage(settings)
    stored = StoredEvents(settings.metrics_event_types) if settings.metrics else None
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
        stored=stored,
    )
    segment_catalog = SegmentCatalog(configs.of(SEGMENT_KIND), configs.of(TRAIT_KIND))
    traits_step, live_segments = ComputedTraits(segment_catalog), LiveSegments(segment_catalog)
    walk = ProfileWalk(storage, segment_catalog, tracker.updates, clock=clock)
    job_kinds += [walk, TraitBackfill(storage, segment_catalog, tracker.updates, clock=clock)]
    nodes = node_services(storage, consent_types)
    runs = FlowRunLog()
    catalog = FlowCatalog(configs.of(RULE_KIND), configs.of(FLOW_KIND), NodeRegistry.installed())
    # computed traits first, so flows and segments read them with this request counted
    tracker.steps += [traits_step, SyncFlows(catalog, nodes, runs), live_segments]
    tracker.merge_steps += [traits_step, live_segments]
    destination_catalog = DestinationCatalog(
        configs.of(DESTINATION_KIND),
        KindRegistry.installed(),
        DestinationDefaults(
            max_age=settings.destination_max_age_seconds,
            debounce=settings.destination_debounce_seconds,
            concurrency=settings.destination_concurrency,
        ),
    )
    sender = DeliverySender(
        storage,
        destination_catalog,
        LaneSettings(
            poll=settings.destination_poll_seconds,
            lease=settings.destination_lease_seconds,
            retry=RetryPolicy(
                settings.destination_retry_base_seconds, settings.destination_retry_max_seconds
            ),
        ),
        retention=settings.destination_retention_days * 86400,
    )
    # last: deliveries carry what flows and segments changed (segment events too)
    tracker.steps.append(DeliveryStep(destination_catalog))
    nodes.destinations = DestinationQueue(storage, destination_catalog, sender.wake)
    consumers.append(AsyncFlows(storage, catalog, tracker.updates, nodes, runs))
    flows = FlowService(
        storage,
        configs.of(RULE_KIND),
        configs.of(FLOW_KIND),
        configs.of("flow-version"),
        catalog,
        nodes,
        runs,
    )
    ingest = AsyncIngest(storage, max_backlog=settings.ingest_max_backlog)
    load = RequestLoad()
    processor = IngestProcessor(
        tracker, sources, ingest=ingest, load=load, defer_seconds=settings.ingest_defer_seconds
    )
    job_runner = JobRunner(storage.jobs, job_kinds, lease=settings.lease_seconds)
    jobs = JobService(storage.jobs, job_runner.wake)
    segments = SegmentService(
        storage,
        configs.of(SEGMENT_KIND),
        configs.of(TRAIT_KIND),
        segment_catalog,
        jobs,
        clock,
    )
    services = Services(
        settings=settings,
        storage=storage,
        configs=configs,
        sources=sources,
        keys=KeyService(storage),
        event_types=event_types,
        consent_types=consent_types,
        identity=identity,
        identities=IdentityService(storage, identity, counters, tracker.merge_steps, stored),
        identity_counters=counters,
        enrichment=enrichment,
        tracker=tracker,
        profiles=ProfileService(storage, consent_types, segments.present),
        records=RecordService(storage),
        jobs=jobs,
        feed=FeedRunner(
            storage,
            consumers,
            batch=settings.feed_batch,
            poll=settings.feed_poll_seconds,
            lease=settings.lease_seconds,
        ),
        job_runner=job_runner,
        flows=flows,
        node_services=nodes,
        destinations=DestinationService(storage, destination_catalog, sender),
        sender=sender,
        segments=segments,
        schedule=RefreshSchedule(
            jobs, segment_catalog, every=settings.segment_refresh_seconds, clock=clock
        ),
        redirects=RedirectService(configs.of(REDIRECT_KIND), sources),
        ingest=ingest,
        ingest_processor=processor,
        load=load,
        ingest_runner=FeedRunner(
            storage,
            [processor],
            batch=settings.ingest_batch,
            poll=settings.feed_poll_seconds,
            lease=settings.lease_seconds,
            log=IngestLogReader(storage, ingest),
        ),
        metrics=MetricsRegistry(multiprocess_dir=metrics_dir),
    )
    if stored is not None:  # metrics are on
        metrics = services.metrics
        writer_metrics(metrics, storage)
        stored_event_metrics(metrics, stored)
        identity_metrics(metrics, counters)
        feed_metrics(metrics, services.feed, storage)
        job_metrics(metrics, storage)
        ingest_metrics(metrics, ingest, processor, services.ingest_runner, storage)
        flow_metrics(metrics, runs)
        segment_metrics(metrics, stored, walk)
        delivery_metrics(metrics, services.sender, storage)
        metrics.install_plugins(services)
    return services
