"""A fast, seeded generator of hostile collector requests, for runs of 10^5 cases.

Hypothesis shrinks beautifully but generates a few hundred cases a second; this
makes tens of thousands: real payloads (tests/fixtures) mutated at random
places with any JSON value, hostile strings, deep nesting, oversized lists,
deleted or added fields, and now and then broken bytes; sent to every
collector route. A failing case is reproducible from its seed and index."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from tests.conftest import FIXTURES

Json = Any

HOSTILE_STRINGS = [
    "",
    " ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\ud7ff\ue000",
    "🙂" * 3,
    "é",
    "' OR '1'='1",
    "x'; DROP TABLE events; --",
    "%_\\",
    "../../etc/passwd",
    "@internal",
    "web-shop",
    " Web-Shop ",
    "page-view",
    "2026-01-01T10:00:00Z",
    "not-a-date",
    "9999-99-99T99:99:99Z",
    "true",
    "null",
    "{}",
    "<script>alert(1)</script>",
    "A" * 300,
    "b" * 5000,
]
HUGE = "<<huge number>>"  # orjson writes no int past 64 bits; spliced into the bytes
DEEP = "<<deeper than orjson writes>>"
NUMBERS: list[Json] = [0, -1, 1, 2**31, -(2**63), 2**63 - 1, HUGE, 0.5, -0.0, 1e308, -1e308]


def _templates() -> list[Json]:
    names = ["minimal.json", "browser.json", "checkout.json", "identify.json"]
    documents = [orjson.loads((FIXTURES / name).read_bytes()) for name in names]
    for document in documents:
        document["source"] = {"id": "web-shop"}
    return documents


@dataclass(frozen=True, slots=True)
class FuzzRequest:
    method: str
    path: str
    body: bytes
    query: bytes = b""


class PayloadFuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.templates = _templates()

    # values ----------------------------------------------------------------------
    def value(self, depth: int = 0) -> Json:
        rng = self.rng
        kind = rng.randrange(10 if depth < 3 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return rng.random() < 0.5
        if kind == 2:
            return rng.choice(NUMBERS) if rng.random() < 0.5 else rng.randint(-1000, 1000)
        if kind in (3, 4, 5):
            if rng.random() < 0.7:
                return rng.choice(HOSTILE_STRINGS)
            return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(12)))
        if kind == 6:
            return [self.value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 7:
            return {self.key(): self.value(depth + 1) for _ in range(rng.randrange(4))}
        if kind == 8:
            depth = rng.choice([5, 20, 31, 32, 33, 40, 250, 2000])
            return DEEP if depth > 200 else self.nested(depth)
        return [{"type": "x"}] * rng.choice([0, 1, 999, 1001])

    def key(self) -> str:
        rng = self.rng
        choices = ["id", "type", "events", "source", "session", "profile", "properties"]
        return rng.choice(choices) if rng.random() < 0.3 else rng.choice(HOSTILE_STRINGS)

    def nested(self, depth: int) -> Json:
        value: Json = self.rng.choice([1, "x", None, {}, []])
        for level in range(depth):
            value = [value] if level % 2 else {"n": value}
        return value

    # mutations -------------------------------------------------------------------
    def mutate(self, document: Json) -> Json:
        """Replace, delete or add something at a random place in `document`."""
        rng = self.rng
        if not isinstance(document, dict | list) or rng.random() < 0.1:
            return self.value()
        keys = list(document) if isinstance(document, dict) else list(range(len(document)))
        if isinstance(document, dict) and (not keys or rng.random() < 0.15):
            document[self.key()] = self.value()
            return document
        if not keys:
            return self.value()
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.15 and isinstance(document, dict):
            del document[key]
        elif roll < 0.55:
            document[key] = self.mutate(document[key])
        else:
            document[key] = self.value()
        return document

    def payload(self) -> Json:
        document = orjson.loads(orjson.dumps(self.rng.choice(self.templates)))
        for _ in range(self.rng.randrange(1, 4)):
            document = self.mutate(document)
        return document

    def bytes_of(self, document: Json) -> bytes:
        body = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)
        body = body.replace(orjson.dumps(HUGE), b"1" + b"0" * 40)
        depth = self.rng.choice([250, 2000])
        body = body.replace(orjson.dumps(DEEP), b"[" * depth + b"]" * depth)
        roll = self.rng.random()
        if roll < 0.04 and body:
            return body[: self.rng.randrange(len(body))]
        if roll < 0.08 and body:
            index = self.rng.randrange(len(body))
            return body[:index] + bytes([self.rng.randrange(256)]) + body[index + 1 :]
        return body

    def request(self) -> FuzzRequest:
        roll = self.rng.random()
        if roll < 0.7:
            return FuzzRequest("POST", "/track", self.bytes_of(self.payload()))
        if roll < 0.8:
            batch = [self.payload() for _ in range(self.rng.randrange(1, 4))]
            return FuzzRequest("PUT", "/track", self.bytes_of(batch))
        event_type = self.segment(["page-view", "signup"])
        source = self.segment(["web-shop"])
        session = self.segment(["s-1", "s-2"])
        path = f"/collect/{event_type}/{source}" + (f"/{session}" if roll < 0.9 else "")
        if self.rng.random() < 0.5:
            query = "&".join(f"{self.segment(['k'])}={self.segment(['v'])}" for _ in range(3))
            return FuzzRequest("GET", path, b"", query.encode())
        return FuzzRequest("POST", path, self.bytes_of(self.value()))

    def segment(self, usual: list[str]) -> str:
        """A path or query part: mostly usual, sometimes hostile (percent-encoded)."""
        if self.rng.random() < 0.7:
            return self.rng.choice(usual)
        text = self.rng.choice(HOSTILE_STRINGS) or "x"
        return quote(text.replace("\x00", "0"), safe="")
