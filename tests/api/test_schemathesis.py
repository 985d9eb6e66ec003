"""Schemathesis against the admin API's OpenAPI document, with a valid admin key.

Every operation gets generated requests (valid and invalid ones); every answer
must be no 5xx and match the response schema the document declares. The schema
comes from the app itself; the requests go through the suite's own TestClient
(so the app runs once, with its lifespan, on the test's fresh store) and
schemathesis only generates and judges. Examples are bounded to keep `make
test` short; `KITH_SCHEMATHESIS_EXAMPLES` raises them for a longer run."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from kith.app import build_app
from kith.config import Settings

EXAMPLES = int(os.environ.get("KITH_SCHEMATHESIS_EXAMPLES", "10"))


def _openapi() -> dict[str, Any]:
    """The document of an app that is built but never started (nothing is opened)."""
    with tempfile.TemporaryDirectory() as scratch:
        app = build_app(Settings(data_dir=Path(scratch)))
        document: dict[str, Any] = app.openapi()
        return document


schema = schemathesis.openapi.from_dict(_openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_admin_api_answers_within_its_schema(
    case: schemathesis.Case, client: TestClient, admin: dict[str, str], web_source: str
) -> None:
    sent = case.as_transport_kwargs(base_url="http://testserver", headers=admin)
    # requests-style arguments to the httpx-style client; Kith reads no cookies
    for unused in ("timeout", "allow_redirects", "cookies", "verify"):
        sent.pop(unused, None)
    if "data" in sent:
        sent["content"] = sent.pop("data")
    response = client.request(**sent)
    case.validate_response(
        response,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
