"""Identifiers. New rows get UUIDv7: time-ordered keys keep SQLite's B-trees append-only."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    return str(uuid_utils.uuid7())
