"""Bulk data in and out: `kith export` to JSON Lines and `kith import` of tracker payloads.

Export walks a table oldest first with the same keyset cursors as the API, one
page at a time, so a store of any size streams through constant memory.

Import sends every line through `Tracker.track`, exactly what `POST /track`
does, so an imported event is resolved, enriched and counted like a collected
one. Lines run concurrently (the group-commit writer then batches them), but
lines of one session, or of one profile when they carry no session, keep file
order: each such key is always handled by the same worker.

Resuming: an import is a job (`kith.jobs`) whose saved state records the byte
offset below which every line is committed. An interrupted import re-sends the lines after it,
and those must not be stored twice, so an import gives every event without an
id, and every payload without a session, an id derived from the run and the
line (time-ordered like UUIDv7, so the B-trees still append): a re-sent line
finds its session known and its events already stored, and the collector's
own idempotency does the rest."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from kith.domain.document import Document
from kith.domain.errors import InvalidPayload, KithError
from kith.domain.payload import Ref, TrackerPayload, decode_payload
from kith.domain.source import Source
from kith.jobs import JobContext
from kith.storage.ports import DataTable, Job, Storage
from kith.tracking.enrichment import RequestInfo
from kith.tracking.track import Tracker

EXPORT_PAGE = 1000
WORKERS = 32
CHECKPOINT_SECONDS = 0.5
Advance = Callable[[int], None]
"""Told how many units (rows, bytes) were just done; drives a progress bar."""


# export ------------------------------------------------------------------------------
async def export_table(
    storage: Storage,
    table: DataTable,
    from_: datetime | None,
    to: datetime | None,
    out: BinaryIO,
    advance: Advance,
) -> int:
    """Write every row of `table` in [from, to) as one JSON document per line; the count."""
    written = 0
    cursor: str | None = None
    while True:
        page = await storage.erasure.export_page(table, from_, to, cursor, EXPORT_PAGE)
        if page.items:
            out.write(b"\n".join(orjson.dumps(item) for item in page.items) + b"\n")
            written += len(page.items)
            advance(len(page.items))
        cursor = page.next
        if cursor is None:
            return written


# import ------------------------------------------------------------------------------
@dataclass(slots=True)
class ImportState:
    """Where an import stands: saved with the job's progress, so it survives a crash.

    `run` and `epoch_ms` are fixed when the job is created (they make the replay
    ids); `offset` is the byte offset below which every line is committed."""

    source: str
    size: int
    run: int = field(default_factory=lambda: secrets.randbits(22))
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    offset: int = 0
    line: int = 0
    accepted: int = 0
    rejected: int = 0


@dataclass(slots=True, frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass(slots=True)
class ImportResult:
    accepted: int
    rejected: int
    resumed_at_line: int
    lines: int


IMPORT_KIND = "import"


def import_params(path: Path, source: Source) -> Document:
    """A new import job's parameters: the file, the source and the fixed replay seed."""
    state = ImportState(source=source.id, size=path.stat().st_size)
    return {"path": str(path.resolve()), **asdict(state)}


def replay_id(state: ImportState, line: int, index: int) -> str:
    """A UUIDv7-shaped id fixed by (run, line, index): the same on every replay of the line.

    48 bits of the run's start time, the version, then the line number (36 bits),
    the event index (16 bits; 0xffff names the payload's session) and the run's
    22 random bits: unique per run and increasing in file order."""
    rand_a = (line >> 24) & 0xFFF
    rand_b = ((line & 0xFFFFFF) << 38) | ((index & 0xFFFF) << 22) | (state.run & 0x3FFFFF)
    value = (state.epoch_ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def json_line(raw: bytes) -> dict[str, Any] | InvalidPayload:
    """The line as a JSON object, or the reason it is not one."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return InvalidPayload.at(["line"], f"Malformed JSON: {exc}", "json_invalid")
    if not isinstance(document, dict):
        return InvalidPayload.at(["line"], "Expected a JSON object", "type_error")
    return document


def as_payload(document: dict[str, Any], source_id: str, max_events: int) -> TrackerPayload:
    """A line's object as a tracker payload from `source_id` (its own source is replaced),
    validated exactly as `POST /track` validates a body."""
    document["source"] = {"id": source_id}
    return decode_payload(orjson.dumps(document), max_events)


def describe(error: KithError) -> str:
    """One line for an operator: `loc: msg` for validation errors, else the detail."""
    detail = error.detail
    if isinstance(error, InvalidPayload) and isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(part) for part in item.get("loc", [])[1:]) or "line"
                parts.append(f"{where}: {item.get('msg')}")
        return "; ".join(parts)
    return str(detail)


@dataclass(slots=True, frozen=True)
class _Line:
    number: int
    document: dict[str, Any] | InvalidPayload
    end: int
    """Byte offset just after the line."""
    size: int


class _Progress:
    """Which lines are done; the offset below which all of them are."""

    def __init__(self, state: ImportState) -> None:
        self.state = state
        self._done: dict[int, int] = {}  # line -> offset after it, waiting for earlier lines

    def finish(self, line: int, end_offset: int) -> None:
        self._done[line] = end_offset
        while self.state.line + 1 in self._done:
            self.state.line += 1
            self.state.offset = self._done.pop(self.state.line)


class ImportJob:
    """`kith import` as a job kind: the command line queues the job and runs it in its
    own process (the file is on its machine), showing the job's progress; an
    interrupted import is resumed from the job's saved state by `--resume`."""

    kind = IMPORT_KIND

    def __init__(
        self,
        tracker: Tracker,
        source: Source,
        *,
        max_events: int,
        advance: Advance,
        on_reject: Callable[[Rejected], None],
    ) -> None:
        self._tracker = tracker
        self._source = source
        self._max_events = max_events
        self._advance = advance
        self._on_reject = on_reject
        self.result: ImportResult | None = None

    async def run(self, job: Job, context: JobContext) -> None:
        params = job.params
        fields = {name: params[name] for name in ("source", "size", "run", "epoch_ms")}
        state = ImportState(**{**fields, **job.state})
        path = Path(str(params["path"]))

        async def checkpoint(force: bool = False) -> None:
            await context.progress(
                done=state.offset, total=state.size, state=asdict(state), force=force
            )

        self.result = await import_file(
            self._tracker,
            path,
            self._source,
            state,
            max_events=self._max_events,
            advance=self._advance,
            on_reject=self._on_reject,
            checkpoint=checkpoint,
        )
        await checkpoint(force=True)


async def import_file(
    tracker: Tracker,
    path: Path,
    source: Source,
    state: ImportState,
    *,
    max_events: int,
    advance: Advance,
    on_reject: Callable[[Rejected], None],
    checkpoint: Callable[[], Awaitable[None]],
) -> ImportResult:
    """Send every line of `path` after `state.offset` through the collector pipeline;
    see the module docstring. `checkpoint` saves `state` (called twice a second)."""
    resumed_at = state.line
    progress = _Progress(state)
    advance(state.offset)
    info = RequestInfo(peer=None, headers={})
    queues: list[asyncio.Queue[_Line | None]] = [asyncio.Queue(maxsize=64) for _ in range(WORKERS)]

    async def handle(number: int, line: dict[str, Any] | InvalidPayload) -> None:
        try:
            if isinstance(line, InvalidPayload):
                raise line
            payload = as_payload(line, source.id, max_events)
            if payload.session is None:
                payload.session = Ref(replay_id(state, number, 0xFFFF))
            for index, event in enumerate(payload.events):
                if event.id is None:
                    event.id = replay_id(state, number, index)
            await tracker.track(payload, info, source=source)
        except KithError as exc:
            state.rejected += 1
            on_reject(Rejected(number, describe(exc)))
        else:
            state.accepted += 1

    async def worker(queue: asyncio.Queue[_Line | None]) -> None:
        while (item := await queue.get()) is not None:
            await handle(item.number, item.document)
            progress.finish(item.number, item.end)
            advance(item.size)

    async def checkpoints() -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            await checkpoint()

    workers = [asyncio.create_task(worker(queue)) for queue in queues]
    saver = asyncio.create_task(checkpoints())
    number = state.line
    try:
        with path.open("rb") as lines:
            lines.seek(state.offset)
            offset = state.offset
            for raw in lines:
                number += 1
                offset += len(raw)
                text = raw.strip()
                if not text:
                    progress.finish(number, offset)
                    advance(len(raw))
                    continue
                document = json_line(text)
                line = _Line(number, document, offset, len(raw))
                await queues[_worker_of(document, number)].put(line)
        for queue in queues:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        saver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saver
        for task in workers:
            task.cancel()
    return ImportResult(state.accepted, state.rejected, resumed_at, number)


def _worker_of(document: dict[str, Any] | InvalidPayload, number: int) -> int:
    """Lines of one session (or profile) go to one worker so they keep file order."""
    if isinstance(document, dict):
        for name in ("session", "profile"):
            ref = document.get(name)
            if isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"].strip():
                return hash((name, ref["id"].strip())) % WORKERS
    return number % WORKERS
