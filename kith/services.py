"""The composition root's product: every service, built once from settings and storage."""

from __future__ import annotations

from dataclasses import dataclass

from kith.config import Settings
from kith.configuration import ConfigDocuments
from kith.identity.settings import IdentitySettingsStore
from kith.keys import KeyService
from kith.sources import SourceRegistry
from kith.storage import open_storage
from kith.storage.ports import CONFIG_KINDS, Storage
from kith.tracking.consent_types import ConsentTypeRegistry
from kith.tracking.enrichment import SessionEnrichment
from kith.tracking.event_types import EventTypeRegistry
from kith.tracking.profile_changes import ProfileChanges
from kith.tracking.track import Tracker


@dataclass(slots=True)
class Services:
    settings: Settings
    storage: Storage
    sources: SourceRegistry
    keys: KeyService
    enrichment: SessionEnrichment
    changes: ProfileChanges
    tracker: Tracker
    configs: dict[str, ConfigDocuments]

    async def start(self) -> None:
        await self.storage.start()
        self.storage.subscribe(self.config_changed)
        await self.keys.bootstrap(self.settings.bootstrap_admin_key)

    def config_changed(self, kind: str, key: str) -> None:
        """Another process changed configuration: drop this process's cached copy."""
        if kind == "source":
            self.sources.invalidate(key)
        elif kind in self.configs:
            self.configs[kind].invalidate()

    async def close(self) -> None:
        await self.storage.close()
        self.enrichment.close()


def build_services(settings: Settings, storage: Storage | None = None) -> Services:
    storage = storage or open_storage(settings)
    sources = SourceRegistry(storage, settings.source_cache_ttl)
    enrichment = SessionEnrichment(settings.trusted_proxy_networks, settings.geoip_db)
    configs = {
        kind: ConfigDocuments(storage, kind, settings.config_cache_ttl) for kind in CONFIG_KINDS
    }
    changes = ProfileChanges(
        EventTypeRegistry(configs["event-type"]),
        ConsentTypeRegistry(configs["consent-type"]),
        IdentitySettingsStore(configs["setting"]),
    )
    tracker = Tracker(
        storage,
        sources,
        enrichment,
        changes,
        reject_bots=settings.reject_bots,
        merge_max=settings.merge_max,
    )
    return Services(
        settings=settings,
        storage=storage,
        sources=sources,
        keys=KeyService(storage),
        enrichment=enrichment,
        changes=changes,
        tracker=tracker,
        configs=configs,
    )
