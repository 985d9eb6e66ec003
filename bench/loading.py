"""Filling a fresh embedded store fast, for the benchmarks that need one at size.

Units of work are turned into rows by the engine's own `visit_rows` (the rows
the group-commit writer would write) and written with `executemany` in large
transactions on one connection (`synchronous=normal`, a 4 GB page cache so the
indexes stay in memory while loading), with every index of the schema in place.
That is the storage bulk path, not the collector's: `bench.run` measures that."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bench._common import REPO_DIR
from kith.storage.ports import VisitUnit
from kith.storage.sqlite.core import connect, migrate_file
from kith.storage.sqlite.tracking import visit_rows


class BulkLoader:
    """Collects the rows of many units and commits them `batch` units at a time;
    `close` checkpoints the WAL and runs `ANALYZE`."""

    def __init__(self, path: Path, *, batch: int = 20_000) -> None:
        migrate_file(path)
        self.path = path
        self._conn = connect(path, synchronous="normal")
        self._conn.execute("PRAGMA cache_size = -4000000")
        self._batch = batch
        self._rows: dict[str, list[tuple[Any, ...]]] = {}
        self._units = 0

    def add(self, unit: VisitUnit) -> None:
        for sql, rows in visit_rows(unit).statements:
            self._rows.setdefault(sql, []).extend(rows)
        self._units += 1
        if self._units >= self._batch:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        self._conn.execute("BEGIN")
        for sql, rows in self._rows.items():
            self._conn.executemany(sql, rows)
        self._conn.execute("COMMIT")
        self._rows.clear()
        self._units = 0

    def finish(self) -> None:
        """Write what is left and fold the WAL into the database."""
        self.flush()
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> int:
        """`finish`, `ANALYZE`; the store's size in bytes (the database and its WAL)."""
        self.finish()
        self._conn.execute("ANALYZE")
        self._conn.close()
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))


def commit_hash() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, capture_output=True, check=True
        )
        return out.stdout.decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    """What a result is only comparable with: the machine, the commit, SQLite."""
    return {
        "commit": commit_hash(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "sqlite": sqlite3.sqlite_version,
    }
