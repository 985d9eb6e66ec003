"""Schemathesis against Kith's OpenAPI document, with every check it has.

Every operation gets generated requests, valid and invalid ones (the examples,
coverage and fuzzing phases); every answer goes through all of schemathesis's
checks (`st run -c all`): no 5xx, only documented statuses, content types and
headers, bodies that match their schema, schema-valid requests accepted and
schema-invalid ones refused, authentication enforced (it re-sends requests
without and with a wrong key).

The document comes from the app itself; the requests go through the suite's own
TestClient, so the app runs once, with its lifespan, on the test's fresh store.
Schemathesis sends in-process through a WSGI shim (`ThroughClient`) that hands
each request to that client: its own re-sent requests reach the same app.

Examples are bounded to keep `make test` short; `KITH_SCHEMATHESIS_EXAMPLES`
raises them for a longer run (`make fuzz`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData

from kith.app import build_app
from kith.config import Settings
from tests.conftest import ADMIN_KEY

EXAMPLES = int(os.environ.get("KITH_SCHEMATHESIS_EXAMPLES", "10"))
SOURCE = "web-shop"
"""The test's source: valid collector requests name it."""
LIMITS: dict[str, Any] = {"max_events": 20, "max_batch_payloads": 5, "max_event_properties": 50}
"""Small collector limits, in the app and so in its document: the coverage phase
sends a payload at every limit, and 500 payloads of 1,000 events each would cost
more than all the rest of this file."""


def _openapi() -> dict[str, Any]:
    """The document of an app that is built but never started (nothing is opened)."""
    with tempfile.TemporaryDirectory() as scratch:
        app = build_app(Settings(data_dir=Path(scratch), **LIMITS))
        document: dict[str, Any] = app.openapi()
        return document


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class ThroughClient:
    """A WSGI app that hands every request to the test's TestClient, unchanged."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        # WSGI hands headers over as latin-1 text; they go on as the bytes they were
        headers = [
            (name[5:].replace("_", "-").lower().encode(), value.encode("latin-1"))
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ]
        if environ.get("CONTENT_TYPE"):
            headers.append((b"content-type", environ["CONTENT_TYPE"].encode("latin-1")))
        query = environ.get("QUERY_STRING")
        target = environ["RAW_URI"] + (f"?{query}" if query else "")
        answer = self.client.request(
            environ["REQUEST_METHOD"], target, headers=headers, content=body
        )
        start_response(f"{answer.status_code} {answer.reason_phrase}", answer.headers.multi_items())
        return [answer.content]


def _unplugged(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    raise AssertionError("each call names the test's own app (ThroughClient)")


schema = schemathesis.openapi.from_dict(_openapi())
# a WSGI app makes schemathesis send in-process; each call passes the test's own
schema.app = _unplugged
# the key as configuration, not as headers of each call: schemathesis then knows
# it is the real one (its auth checks re-send without it and with a wrong one),
# and never counts a request it generated without a key as one that went out so
schema.config.update(headers={"Authorization": f"Bearer {ADMIN_KEY}"})

# Rules JSON Schema cannot state: a schema-valid request may still break one of
# these, and Kith refuses it with a 422 naming the place. Only such a refusal is
# excused, and only when every problem it names is one of these places.
BEYOND_JSON_SCHEMA = {
    # opaque: only the `next` of a previous page is a cursor, however it looks
    ("query", "cursor"): "a cursor Kith did not issue",
    # two parameters related: an empty or reversed range; and times: a day the
    # calendar does not have (2026-02-30 fits the pattern)
    ("query", "to"): "`to` not after `from`",
    ("query", "updated_to"): "`updated_to` not after `updated_from`",
    ("query", "visited_to"): "`visited_to` not after `visited_from`",
    ("query", "from"): "stats: `from` not before `to` (default: now); a day the calendar lacks",
    ("query", "updated_from"): "a day the calendar does not have",
    ("query", "visited_from"): "a day the calendar does not have",
    ("query", "interval"): "stats: more than 10,000 buckets between `from` and `to`",
    # a language of its own: paths (`profile@a.b`, `{...}` templates) and JSON Schema
    ("body", "mapping", "to"): "not a `profile@` path Kith may write",
    ("body", "mapping", "from"): "not a path, or missing where the op needs a value",
    ("body", "schema"): "not a JSON Schema fastjsonschema can compile",
    ("body", "merge_keys", "path"): "not a profile path, a reserved one, or listed twice",
    ("body", "keys", "path"): "not a profile path, a reserved one, or listed twice",
    # the condition language, and references to other configuration
    ("body", "condition"): "a condition that does not parse, or reads more than a segment may",
    ("body", "flow"): "a rule's flow that does not exist",
    ("body", "source"): "a redirect's source without the `redirect` bridge",
    ("body", "url"): "a redirect target that is not http(s)",
    ("body", "property"): "a computed trait without the property its kind needs",
    ("body", "window"): "a computed trait's window that is not a duration",
    ("body", "event"): "a debug run with neither `event` nor `event_id`",
    # destinations: kinds are plugins, each with its own config model; templates
    ("body", "kind"): "a destination kind that is not installed",
    ("body", "mapping"): "a destination mapping that does not compile as an object template",
    ("body", "from"): "replay: a day the calendar does not have",
    ("body", "to"): "replay: a day the calendar does not have",
}

# a flow's graph is checked as a whole: node types, their configs, ports, cycles;
# a destination's config by the model of its kind
BEYOND_JSON_SCHEMA_PREFIXES = (("body", "nodes"), ("body", "edges"), ("body", "config"))


# Limits of the store rather than of the shape, anywhere in a free-form object
BEYOND_JSON_SCHEMA_KINDS = {
    "too_deep": "JSON nested deeper than KITH_MAX_JSON_DEPTH",
    "int_range": "an integer past 64 bits, which no store serialises",
}


def _place(loc: list[str | int]) -> tuple[str | int, ...]:
    """A problem's location without list indexes: `body.mapping.0.to` -> body, mapping, to."""
    return tuple(part for part in loc if not isinstance(part, int))


@schema.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Failure,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    """Keep every failure but a 422 for a schema-valid request broken only beyond JSON Schema."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    problems = response.json()["detail"]
    return not all(
        _place(problem["loc"]) in BEYOND_JSON_SCHEMA
        or problem["type"] in BEYOND_JSON_SCHEMA_KINDS
        or _place(problem["loc"])[:2] in BEYOND_JSON_SCHEMA_PREFIXES
        for problem in problems
    )


@schema.hook
def filter_query(context: schemathesis.HookContext, query: dict[str, Any] | None) -> bool:
    """Drop a query string longer than 16 KiB: past that it is a matter for the HTTP
    layer, not the API (the test client refuses 64 KiB URLs; servers and proxies
    cap the request line at 8-16 KiB), and nothing in the document could say it."""
    return query is None or len(urlencode(query, doseq=True)) <= 16 * 1024


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A valid `/track` request names the test's source, so that it is tracked and
    stored rather than refused as an unknown source (401) before anything happens."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if case.operation.path == "/track":
        payloads = case.body if isinstance(case.body, list) else [case.body]
        for payload in payloads:
            if isinstance(payload, dict) and isinstance(payload.get("source"), dict):
                payload["source"]["id"] = SOURCE
    # /collect's source is a path parameter: schemathesis may still mutate the path
    # into a negative case after this hook, and a source put back here would make it
    # valid behind its back ("accepted negative data"); its cases keep their own
    # sources (a valid one that is unknown is a 401, which a positive case may get)
    return case


@pytest.fixture
def kith(make_client: Callable[..., TestClient], admin: dict[str, str]) -> TestClient:
    """The app with the document's limits, and a source for the collector."""
    client = make_client(**LIMITS)
    source = {"id": SOURCE, "bridges": ["rest", "webhook"]}
    assert client.post("/api/sources", json=source, headers=admin).status_code == 201
    return client


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema(
    case: schemathesis.Case, kith: TestClient, engine: str
) -> None:
    if engine != "sqlite" and _refused_before_storage(case):
        return
    case.call_and_validate(app=ThroughClient(kith))


def _refused_before_storage(case: schemathesis.Case) -> bool:
    """A negative case of the coverage phase (every boundary of every parameter,
    the larger part of the cases): request validation refuses it before storage is
    touched, and that layer is the same on both engines, so SQLite's run covers it.
    Keeps `make test` short; fuzzed negative cases still go to both."""
    meta = case.meta
    return (
        meta is not None
        and meta.phase.name.value == "coverage"
        and meta.generation.mode.is_negative
    )
