"""Committed events for feed tests, and a storage per engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kith.config import Settings
from kith.domain.clock import iso, utcnow
from kith.domain.ids import new_id
from kith.storage import open_storage
from kith.storage.ports import Storage, VisitUnit


def event_doc(number: int, profile: str | None = None) -> dict[str, Any]:
    now = iso(utcnow())
    return {
        "id": new_id(),
        "type": "page-view",
        "source": {"id": "web"},
        "session": None,
        "profile": {"id": profile} if profile else None,
        "properties": {"n": number},
        "metadata": {
            "time": {"insert": now, "create": now},
            "status": "collected",
            "channel": "web",
        },
    }


async def commit_events(storage: Storage, count: int, *, per_unit: int = 1) -> list[str]:
    """Commit `count` events, `per_unit` to a unit of work; their ids in commit order."""
    ids: list[str] = []
    for start in range(0, count, per_unit):
        docs = [event_doc(n) for n in range(start, min(count, start + per_unit))]
        await storage.tracking.commit_visit(VisitUnit(events=docs))
        ids += [doc["id"] for doc in docs]
    return ids


def storage_settings(engine: str, tmp_path: Path, url: str | None) -> Settings:
    if engine == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    return Settings(data_dir=tmp_path / "data", storage_url=url, pg_pool_size=4)


def open_engine(settings: Settings) -> Storage:
    return open_storage(settings)
