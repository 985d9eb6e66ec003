"""What both group-commit writers do once a transaction has ended: answer each caller."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol


class HasFuture(Protocol):
    @property
    def future(self) -> asyncio.Future[Any]: ...


def settle(outcomes: Iterable[tuple[HasFuture, BaseException | None, Any]]) -> None:
    """Resolve each unit's future with its value or its error (on the caller's loop)."""
    for job, error, value in outcomes:
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(value)
