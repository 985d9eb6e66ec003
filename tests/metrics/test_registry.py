"""The metrics registry on its own: readers become families, a plugin adds its own, a
failing shared reading leaves the rest of a scrape alone."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from kith.metrics import MetricsRegistry


async def scraped(
    registry: MetricsRegistry,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await registry.exposition()).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_counters_follow_the_totals_they_read() -> None:
    registry = MetricsRegistry()
    totals = {("page-view", "web"): 3, ("click", "web"): 1}
    registry.counter("kith_things", "Things.", ["type", "source"], totals.items)
    first = await scraped(registry)
    assert first[("kith_things_total", (("source", "web"), ("type", "page-view")))] == 3
    totals[("page-view", "web")] = 10
    totals[("order", "app")] = 2
    second = await scraped(registry)
    assert second[("kith_things_total", (("source", "web"), ("type", "page-view")))] == 10
    assert second[("kith_things_total", (("source", "app"), ("type", "order")))] == 2
    assert second[("kith_things_total", (("source", "web"), ("type", "click")))] == 1


async def test_a_counter_that_went_down_never_makes_the_metric_go_down() -> None:
    registry = MetricsRegistry()
    total = {(): 5}
    registry.counter("kith_restarts", "Restarts.", [], total.items)
    assert (await scraped(registry))[("kith_restarts_total", ())] == 5
    total[()] = 2  # its owner was rebuilt
    assert (await scraped(registry))[("kith_restarts_total", ())] == 5
    total[()] = 7
    assert (await scraped(registry))[("kith_restarts_total", ())] == 7


async def test_gauges_show_levels_and_drop_to_zero_when_gone() -> None:
    registry = MetricsRegistry()
    levels = {("a",): 4.0, ("b",): 1.0}
    registry.gauge("kith_level", "Level.", ["name"], levels.items)
    assert (await scraped(registry))[("kith_level", (("name", "a"),))] == 4
    del levels[("a",)]
    levels[("b",)] = 2.0
    after = await scraped(registry)
    assert after[("kith_level", (("name", "a"),))] == 0
    assert after[("kith_level", (("name", "b"),))] == 2


async def test_a_histogram_asked_for_twice_is_one() -> None:
    registry = MetricsRegistry()
    first = registry.histogram("kith_sizes", "Sizes.", [], [1, 10])
    assert registry.histogram("kith_sizes", "Sizes.", [], [1, 10]) is first
    first.observe(3)
    samples = await scraped(registry)
    assert samples[("kith_sizes_bucket", (("le", "10.0"),))] == 1
    assert samples[("kith_sizes_count", ())] == 1


async def test_a_failing_shared_reading_leaves_the_others(caplog: Any) -> None:
    registry = MetricsRegistry()

    async def broken() -> list[Metric]:
        raise ConnectionError("database away")

    async def fine() -> list[Metric]:
        return [GaugeMetricFamily("kith_fine", "Fine.", value=1)]

    registry.shared(broken)
    registry.shared(fine)
    assert (await scraped(registry))[("kith_fine", ())] == 1
    assert "shared metrics reading failed" in caplog.text


async def test_a_plugin_adds_its_metrics_through_its_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plugin = types.ModuleType("kith_test_metrics_plugin")

    def register(metrics: MetricsRegistry, services: Any) -> None:
        metrics.counter("plugin_calls", "Calls.", [], lambda: [((), services["calls"])])

    plugin.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    entry = EntryPoint("test", f"{plugin.__name__}:register", "kith.metrics")
    registry = MetricsRegistry()
    registry.install_plugins({"calls": 3}, [entry])  # type: ignore[arg-type]
    assert (await scraped(registry))[("plugin_calls_total", ())] == 3
