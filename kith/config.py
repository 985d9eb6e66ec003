"""Kith's settings: declared once, read from the environment once, passed explicitly.

Only this module reads the environment. `Settings()` is built by the CLI (or by a
test) and handed to `build_app`; nothing else constructs one.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Kith has. Each field's description is its documentation."""

    model_config = SettingsConfigDict(env_prefix="KITH_", extra="ignore", frozen=True)

    host: str = Field("0.0.0.0", description="Interface to listen on.")  # noqa: S104
    port: int = Field(8686, ge=1, le=65535, description="TCP port to listen on.")
    data_dir: Path = Field(
        Path("./kith-data"), description="Directory holding the embedded store (SQLite)."
    )
    storage_url: str | None = Field(
        None,
        description=(
            "Storage engine URL. Empty: embedded SQLite in the data dir. "
            "`sqlite:PATH` names another SQLite file; `postgresql://...` selects PostgreSQL."
        ),
    )
    workers: int = Field(1, ge=1, description="Worker processes (PostgreSQL only).")
    pg_pool_size: int = Field(
        8, ge=2, description="PostgreSQL connections per worker for queries and the writer."
    )
    pg_lock_connections: int = Field(
        32,
        ge=2,
        description="PostgreSQL connections per worker for advisory locks: one per request"
        " in flight that holds a lock; more requests wait for one.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server."
    )
    bootstrap_admin_key: str | None = Field(
        None,
        description=(
            "If set and no admin key exists at start-up, this value becomes an admin key."
        ),
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest accepted collector body (413 above)."
    )
    max_events: int = Field(
        1000, ge=1, description="Most events in one tracker payload (422 above)."
    )
    max_batch_payloads: int = Field(
        500, ge=1, description="Most tracker payloads in one `PUT /track` batch (422 above)."
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "Comma-separated IPs or CIDR networks of reverse proxies whose "
            "`X-Forwarded-For` header is believed."
        ),
    )
    geoip_db: Path | None = Field(
        None, description="Path of a MaxMind-format `.mmdb` file used to geolocate client IPs."
    )
    reject_bots: bool = Field(
        False, description="Answer 401 to collector requests whose user agent is a bot."
    )
    config_cache_ttl: float = Field(
        1.0,
        ge=0,
        description="Seconds each process caches event types, consent types and identity"
        " settings; changes made through this process apply at once.",
    )
    source_cache_ttl: float = Field(
        5.0, ge=0, description="Seconds a source stays in the collector's in-process cache."
    )
    sqlite_synchronous: Literal["normal", "full"] = Field(
        "full",
        description=(
            "SQLite `synchronous` pragma. `full` fsyncs every group commit, so an "
            "acknowledged write survives power loss; `normal` survives process crashes only."
        ),
    )
    sqlite_read_connections: int = Field(
        4, ge=1, le=64, description="Read-only SQLite connections for admin queries."
    )
    writer_max_batch: int = Field(
        2000, ge=1, description="Most units of work the writer commits in one transaction."
    )
    max_json_depth: int = Field(
        32,
        ge=2,
        le=200,
        description=(
            "Deepest JSON nesting accepted in a collector body, the body itself being "
            "level 1 (422 above). At most 200, so stored documents always serialise."
        ),
    )
    max_id_length: int = Field(
        256,
        ge=8,
        le=4096,
        description="Longest source, session, profile or event id in a collector payload (422).",
    )
    max_event_type_length: int = Field(
        128, ge=8, le=1024, description="Longest event type in a collector payload (422 above)."
    )
    max_event_properties: int = Field(
        500, ge=1, description="Most top-level keys in one event's `properties` (422 above)."
    )
    admin_origins: str = Field(
        "",
        description=(
            "Comma-separated origins (`https://admin.example.com`) whose browsers may call "
            "the admin API (CORS). Empty: none; admin responses carry no CORS headers."
        ),
    )
    writer_max_queue: int = Field(
        10_000,
        ge=1,
        description=(
            "Units of work waiting for the writer above which the collector answers 503 "
            "with `Retry-After` and stores nothing, instead of queueing without bound."
        ),
    )
    degraded_queue_depth: int = Field(
        1_000,
        ge=1,
        description="Writer queue depth above which `/healthz` reports `degraded` with a reason.",
    )
    max_admin_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest admin API request body (413 above, before the key is checked); "
            "chunked bodies without a length are refused."
        ),
    )

    feed_batch: int = Field(
        500, ge=1, le=10_000, description="Most committed events a feed consumer takes at once."
    )
    feed_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often an idle feed consumer looks for events committed by other"
        " processes (this process's own commits wake it at once).",
    )
    lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How long a process holds a feed consumer or a job without renewing it;"
        " after a crash another process (or the restarted one) takes over after this.",
    )

    destination_max_age_seconds: float = Field(
        4 * 3600.0,
        gt=0,
        le=30 * 86400,
        description="How long a delivery is retried before it becomes dead, for destinations"
        " that set no `max_age`.",
    )
    destination_retry_base_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        description="Wait before a delivery's first retry; each later retry waits twice as"
        " long (half of it random jitter), up to `KITH_DESTINATION_RETRY_MAX_SECONDS`.",
    )
    destination_retry_max_seconds: float = Field(
        1800.0, gt=0, le=86400, description="Longest wait between two tries of a delivery."
    )
    destination_debounce_seconds: float = Field(
        2.0,
        ge=0,
        le=86400,
        description="`on: profile` destinations that set no `debounce`: a burst of changes"
        " of one profile within this many seconds sends the latest profile once.",
    )
    destination_concurrency: int = Field(
        16,
        ge=1,
        le=256,
        description="Sends in flight at once per destination (per process), for destinations"
        " that set no `concurrency`.",
    )
    destination_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=60,
        description="How often an idle destination looks for due deliveries (retries, and"
        " deliveries queued by other processes; this process's commits wake it at once).",
    )
    destination_lease_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="How long claimed deliveries stay with a process beyond their send"
        " timeouts; if it dies, they are tried again after this.",
    )
    destination_retention_days: float = Field(
        7.0,
        gt=0,
        description="Delivered and dead deliveries are deleted this many days after they finished.",
    )
    ingest_max_backlog: int = Field(
        100_000,
        ge=1,
        description="Async storage: payloads waiting in the ingest log above which the"
        " collector answers 503 with `Retry-After` to async payloads.",
    )
    ingest_defer_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="Async storage: while the collector is busy, how long the processor may"
        " hold back each batch so that accepting comes first (0: never).",
    )
    ingest_batch: int = Field(
        500, ge=1, le=10_000, description="Async storage: payloads processed in one batch."
    )
    background_work: bool = Field(
        True,
        description="Run feed consumers (async flows ...), background jobs and schedules in"
        " this process. Turn off on processes that should only serve requests.",
    )
    segment_refresh_seconds: float = Field(
        3600.0,
        ge=60,
        description="How often segments whose condition reads the clock (`now()`,"
        " `now.offset()` ...) are refreshed for every profile.",
    )

    metrics: bool = Field(
        True,
        description="Record metrics and serve them at `GET /metrics`. Off: nothing is"
        " recorded on the request path and `/metrics` answers 404.",
    )
    metrics_public: bool = Field(
        False,
        description="Serve `GET /metrics` without a key. Off: a key of any role is needed"
        " (`Authorization: Bearer <key>`).",
    )
    metrics_dir: Path | None = Field(
        None,
        description="Directory for the metric files of `kith serve --workers N` (N above 1),"
        " so that any worker's `/metrics` sums all of them; emptied at every start. Empty: a"
        " new temporary directory per start, removed at exit.",
    )
    metrics_event_types: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Distinct event types each process counts by name in"
        " `kith_events_stored_total`; further types count as `other`.",
    )

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    @property
    def storage_kind(self) -> Literal["sqlite", "postgresql"]:
        url = self.storage_url or ""
        if url.startswith(("postgresql://", "postgres://")):
            return "postgresql"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        url = self.storage_url or ""
        if url.startswith("sqlite:"):
            raw = url.removeprefix("sqlite:")
            raw = raw.removeprefix("//") if raw.startswith("///") else raw
            return Path(raw)
        return self.data_dir / "kith.db"

    @property
    def admin_origin_list(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.admin_origins.split(",") if o.strip())
