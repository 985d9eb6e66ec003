"""Flow metrics: runs by flow and outcome, failed node runs by node type.

Read from the run log's counts when `/metrics` is scraped; a run costs two
dictionary updates, made where the log records it anyway."""

from __future__ import annotations

from kith.metrics import MetricsRegistry
from kith.workflows.runs import FlowRunLog


def flow_metrics(metrics: MetricsRegistry, runs: FlowRunLog) -> None:
    metrics.counter(
        "kith_flow_runs",
        "Flow runs (sync and async), by flow id and outcome (`ok`, `failed`: the run"
        " reported an error).",
        ["flow", "outcome"],
        runs.by_flow.items,
    )
    metrics.counter(
        "kith_flow_node_errors",
        "Node runs that failed (whatever their `on_error`), by node type.",
        ["node_type"],
        lambda: [((node_type,), count) for node_type, count in runs.node_errors.items()],
    )
