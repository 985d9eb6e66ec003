"""What every port shares: documents and pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from kith.domain.document import Document as Document

T = TypeVar("T")


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None
