"""Schema migrations: versioned, applied at start-up and by `kith migrate`."""

from __future__ import annotations

from typing import Protocol


class Migrations(Protocol):
    async def migrate(self) -> tuple[int, int]:
        """Apply every pending migration; return the (from, to) schema versions."""
        ...

    def where(self) -> str:
        """The store, for messages (a path, or host/database without a password)."""
        ...
