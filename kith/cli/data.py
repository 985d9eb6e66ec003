"""`kith export` and `kith import`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kith.cli.common import (
    DataDir,
    StorageUrl,
    app,
    console,
    progress_bar,
    settings_from,
    with_services,
)
from kith.domain.clock import parse_iso
from kith.domain.errors import UnknownSource
from kith.services import Services
from kith.services.transfer import (
    IMPORT_KIND,
    ImportJob,
    ImportResult,
    Rejected,
    export_table,
    import_params,
)
from kith.storage.ports import DataTable


class DataKind(StrEnum):
    profiles = "profiles"
    sessions = "sessions"
    events = "events"


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint=name) from None


@app.command("export")
def export_data(
    kind: Annotated[DataKind, typer.Argument(help="profiles, sessions or events.")],
    out: Annotated[Path, typer.Option("--out", help="The JSON Lines file to write.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="From this time (ISO-8601), inclusive.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Up to this time, exclusive.")] = None,
    data_dir: DataDir = None,
    storage: StorageUrl = None,
) -> None:
    """Write stored profiles, sessions or events, oldest first, one JSON document a line.

    Times select on the last update (profiles), the start (sessions) or the
    event time (events)."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    start, end = _moment(from_, "--from"), _moment(to, "--to")
    table: DataTable = kind.value

    async def work(services: Services) -> int:
        total = await services.storage.erasure.count_rows(table, start, end)
        with progress_bar("rows") as bar, out.open("wb") as sink:
            task = bar.add_task(f"export {table}", total=total)
            return await export_table(
                services.storage, table, start, end, sink, lambda n: bar.advance(task, n)
            )

    written = with_services(settings, work)
    console.print(f"Exported {written:,} {table} to {out}")


@app.command("import")
def import_data(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one tracker payload a line.")],
    source: Annotated[str, typer.Option("--source", help="The source every line comes from.")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted import of this file.")
    ] = False,
    data_dir: DataDir = None,
    storage: StorageUrl = None,
) -> None:
    """Send each line through the same pipeline as POST /track, as a job.

    A rejected line is reported with its number and reason and the import goes
    on; the exit code is 1 if any line was rejected. The import is a job
    (`GET /api/jobs?kind=import` shows its progress) whose state is saved twice a
    second, so `--resume` continues after an interruption without storing any
    line twice."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    if not file.is_file():
        console.print(f"[red]No file {file}[/red]")
        raise typer.Exit(2)
    path = str(file.resolve())

    async def work(services: Services) -> ImportResult:
        try:
            chosen = await services.tracker.source_for(source.strip().lower(), "rest")
        except UnknownSource:
            console.print(f"[red]Unknown or disabled source {source!r}[/red] (bridge `rest`)")
            raise typer.Exit(2) from None
        size = file.stat().st_size
        job = None
        if resume:
            job = await services.jobs.unfinished(
                IMPORT_KIND,
                lambda j: (
                    j.params.get("path") == path
                    and j.params.get("source") == chosen.id
                    and j.params.get("size") == size
                ),
            )
            if job is None:
                console.print("Nothing to resume for this file; importing it from the start.")
        if job is None:
            job = await services.jobs.queue(IMPORT_KIND, import_params(file, chosen), total=size)
        with progress_bar("B", transfer=True) as bar:
            task = bar.add_task(f"import {file.name}", total=size)

            def rejected(line: Rejected) -> None:
                bar.console.print(
                    f"[yellow]line {line.line}[/yellow]: {line.reason}", highlight=False
                )

            kind = ImportJob(
                services.tracker,
                chosen,
                max_events=settings.max_events,
                advance=lambda n: bar.advance(task, n),
                on_reject=rejected,
            )
            done = await services.jobs.run_here(job, kind, lease=settings.lease_seconds)
        if kind.result is None:
            console.print(f"[red]Import failed[/red]: {done.error}")
            raise typer.Exit(2)
        return kind.result

    result = with_services(settings, work)
    if result.resumed_at_line:
        console.print(f"Resumed after line {result.resumed_at_line:,}.")
    console.print(
        f"Imported {result.accepted:,} lines, rejected {result.rejected:,} "
        f"({result.lines:,} lines in {file})."
    )
    if result.rejected:
        raise typer.Exit(1)
