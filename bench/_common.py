"""Small helpers shared by the bench modules (no Kith imports here)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"


def scratch_dir(prefix: str) -> Path:
    """A fresh directory for one run's data, on a real disk so fsync costs what it costs.

    Defaults to `bench/results/tmp/` (git-ignored); `KITH_BENCH_TMP` overrides the parent.
    """
    parent = Path(os.environ.get("KITH_BENCH_TMP") or RESULTS_DIR / "tmp")
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    right = ["---:" if i else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(right) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
