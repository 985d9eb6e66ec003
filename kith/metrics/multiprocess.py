"""The metric files of `kith serve --workers N` (prometheus_client's multiprocess mode).

Each worker process writes its metrics to files named by its pid in one
directory, and the worker that answers a scrape sums them all. prometheus_client
picks its file-backed values when it is imported, from `PROMETHEUS_MULTIPROC_DIR`,
so `kith serve` prepares the directory and sets the variable before any worker
starts (workers are fresh processes that import it after). The directory is
emptied at every start: files of an earlier run would add its counts to this
one's. Counters of a worker that died stay (they were counted); its gauges go,
by `mark_dead` when a worker stops cleanly and by `sweep_dead` when a worker
starts after one was killed."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from prometheus_client import CollectorRegistry, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def prepare_directory(configured: Path | None) -> tuple[Path, bool]:
    """The directory for this start, emptied, and whether it is ours to remove at exit
    (a new temporary one) or the configured one (kept, emptied again next start)."""
    if configured is None:
        return Path(tempfile.mkdtemp(prefix="kith-metrics-")), True
    configured.mkdir(parents=True, exist_ok=True)
    for stale in configured.glob("*.db"):
        stale.unlink()
    return configured, False


def remove_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def check_mode(directory: Path) -> None:
    """Refuse to start a worker whose metrics would stay in memory, invisible to scrapes
    answered by the other workers."""
    multiprocess = getattr(values.ValueClass, "_multiprocess", False)
    if not multiprocess or os.environ.get(ENVIRONMENT_VARIABLE) != str(directory):
        raise RuntimeError(
            f"metrics of several workers need {ENVIRONMENT_VARIABLE}={directory} in the"
            " environment before prometheus_client is imported; start workers with"
            " `kith serve --workers N`"
        )


def collector(directory: Path) -> CollectorRegistry:
    """A registry that reads (and sums) every worker's files."""
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return registry


def mark_dead(directory: Path, pid: int) -> None:
    mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


def sweep_dead(directory: Path) -> list[int]:
    """Drop the gauges of workers that are gone (killed, so they could not do it);
    the pids swept."""
    swept: set[int] = set()
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.fullmatch(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid not in swept and not alive(pid):
            mark_dead(directory, pid)
            swept.add(pid)
    return sorted(swept)
