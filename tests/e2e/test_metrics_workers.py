"""`kith serve --workers 2` on PostgreSQL: a scrape, whichever worker answers it, reports
the requests and events of both workers, from the directory of metric files that is
emptied at every start."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx2 as httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import Server
from tests.e2e.test_scale_out import body, create_source_through, spread
from tests.postgres import drop_schema, fresh_schema_url

TRACK_COUNT = ("kith_http_request_duration_seconds_count", "/track", "POST", "200")


def track_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            key = (sample.name, labels.get("route"), labels.get("method"), labels.get("status"))
            if key == TRACK_COUNT:
                return sample.value
    return 0.0


def page_views(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "kith_events_stored_total" and sample.labels["type"] == "page-view":
                return sample.value
    return 0.0


def scrape(server: Server) -> str:
    response = httpx.get(f"{server.url}/metrics", headers=server.admin, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def per_worker(directory: Path) -> dict[str, float]:
    """`/track` requests answered by each worker, read from its own file."""
    counts: dict[str, float] = {}
    for path in directory.glob("histogram_*.db"):
        pid = path.stem.removeprefix("histogram_")
        for family in MultiProcessCollector.merge([str(path)]):
            for sample in family.samples:
                labels = sample.labels
                key = (sample.name, labels.get("route"), labels.get("method"), labels.get("status"))
                if key == TRACK_COUNT:
                    counts[pid] = sample.value
    return counts


def test_one_scrape_sums_both_workers(tmp_path: Path, postgres_database: str) -> None:
    url, schema = fresh_schema_url(postgres_database)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_99999999.db").write_bytes(b"left by an earlier run")
    server = Server(
        tmp_path / "w",
        env={"KITH_STORAGE_URL": url, "KITH_WORKERS": "2", "KITH_METRICS_DIR": str(metrics_dir)},
    )
    server.start()
    try:
        assert not (metrics_dir / "counter_99999999.db").exists()
        create_source_through(server, server)
        before = scrape(server)
        sent = 0
        for _ in range(20):  # until the kernel has handed connections to both workers
            payloads = [body(str(uuid.uuid4()), [{"type": "page-view"}]) for _ in range(50)]
            asyncio.run(spread((server, server), payloads))
            sent += len(payloads)
            if sum(1 for count in per_worker(metrics_dir).values() if count) >= 2:
                break
        workers = per_worker(metrics_dir)
        assert len([count for count in workers.values() if count]) == 2, workers
        # requests are in the files at once; several scrapes, so both workers answer some
        for _ in range(6):
            text = scrape(server)
            assert track_count(text) - track_count(before) == sent
            assert track_count(text) == sum(workers.values())
        # events are counted in memory and published every second by each worker
        deadline = time.monotonic() + 10
        while page_views(scrape(server)) < sent:
            assert time.monotonic() < deadline, "the workers' events did not add up"
            time.sleep(0.2)
        assert page_views(scrape(server)) == sent
        assert len(list(metrics_dir.glob("gauge_livesum_*.db"))) == 2
    finally:
        server.stop()
        drop_schema(postgres_database, schema)
    # a clean stop took the workers' gauges out; their counts stay until the next start
    assert not list(metrics_dir.glob("gauge_live*.db"))
    assert list(metrics_dir.glob("histogram_*.db"))
