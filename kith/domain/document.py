"""The one declaration of a stored JSON document (profile, session, event, configuration)."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]
