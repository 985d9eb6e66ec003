"""The metric files of several workers: a directory per start, emptied; gauges of dead
workers swept; a worker that would keep its metrics in memory refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kith.metrics import MetricsRegistry, multiprocess


def test_a_configured_directory_is_emptied_and_kept(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"old")
    (directory / "notes.txt").write_text("not ours")
    found, temporary = multiprocess.prepare_directory(directory)
    assert (found, temporary) == (directory, False)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_without_one_each_start_gets_a_new_temporary_directory() -> None:
    first, temporary = multiprocess.prepare_directory(None)
    second, _ = multiprocess.prepare_directory(None)
    try:
        assert temporary and first != second and first.is_dir() and not list(first.iterdir())
    finally:
        multiprocess.remove_directory(first)
        multiprocess.remove_directory(second)
    assert not first.exists()


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_gauges_of_dead_workers_are_swept(tmp_path: Path) -> None:
    dead = _dead_pid()
    for name in (f"gauge_livesum_{dead}.db", "gauge_livesum_1.db", f"counter_{dead}.db"):
        (tmp_path / name).write_bytes(b"")
    assert multiprocess.sweep_dead(tmp_path) == [dead]
    left = sorted(p.name for p in tmp_path.iterdir())
    # pid 1 is alive; a dead worker's counters stay: what it counted was counted
    assert left == sorted(["gauge_livesum_1.db", f"counter_{dead}.db"])


def test_a_worker_without_the_environment_refuses(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        MetricsRegistry(multiprocess_dir=tmp_path)
