"""`kith serve | migrate | keys | export | import`: the command line, one Settings per command."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from kith.config import Settings
from kith.domain.access import Role
from kith.domain.clock import parse_iso
from kith.domain.errors import UnknownSource
from kith.services import Services, build_services
from kith.services.transfer import (
    IMPORT_KIND,
    ImportJob,
    ImportResult,
    Rejected,
    export_table,
    import_params,
)
from kith.storage import open_migrations
from kith.storage.ports import DataTable

T = TypeVar("T")
app = typer.Typer(help="Kith: an open-source Customer Data Platform.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage admin API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(soft_wrap=True)


def setting_help(name: str) -> str:
    """An option's help from its setting: the description, the environment variable
    and the default. The brackets are escaped: typer renders help as rich markup,
    which would swallow `[env ...]` as a style tag."""
    field = Settings.model_fields[name]
    default = field.default if field.default is not None else "none"
    return f"{field.description} \\[env KITH_{name.upper()}; default: {default}]"


DataDir = Annotated[Path | None, typer.Option("--data-dir", help=setting_help("data_dir"))]
StorageUrl = Annotated[str | None, typer.Option("--storage", help=setting_help("storage_url"))]


def settings_from(**overrides: Any) -> Settings:
    """Environment first, then the command-line flags that were given."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        services = build_services(settings)
        await services.start()
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(run())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help=setting_help("host"))] = None,
    port: Annotated[int | None, typer.Option(help=setting_help("port"))] = None,
    data_dir: DataDir = None,
    storage: StorageUrl = None,
    workers: Annotated[int | None, typer.Option(help=setting_help("workers"))] = None,
) -> None:
    """Start the collector and the admin API."""
    settings = settings_from(
        host=host, port=port, data_dir=data_dir, storage_url=storage, workers=workers
    )
    if settings.storage_kind == "sqlite" and settings.workers > 1:
        console.print(
            "[red]--workers above 1 needs PostgreSQL.[/red] The embedded SQLite store is "
            "owned by one process (its writer thread is what makes group commit safe), so "
            "several processes cannot share it. Run one worker, or use "
            "--storage postgresql://USER@HOST/DB to scale out."
        )
        raise typer.Exit(2)
    if settings.storage_kind == "postgresql":
        prepare_postgresql(settings)
    import uvicorn

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:
        # each worker process builds its own app from the environment, so the
        # flags given here travel to them as KITH_* variables
        for name, value in settings.model_dump(exclude_unset=True).items():
            if value is not None:
                os.environ[f"KITH_{name.upper()}"] = str(value)
        uvicorn.run(
            "kith.app:app_from_environment", factory=True, workers=settings.workers, **options
        )
        return
    from kith.app import build_app, tune_garbage_collector

    tune_garbage_collector()
    uvicorn.run(build_app(settings), **options)


def prepare_postgresql(settings: Settings) -> None:
    """Migrate once before any worker starts, and say plainly when the database
    cannot be reached instead of letting every worker fail with a traceback."""
    migrations = open_migrations(settings)
    try:
        asyncio.run(migrations.migrate())
    except (TimeoutError, OSError) as exc:
        console.print(f"[red]Cannot reach[/red] {migrations.where()}: {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # asyncpg's errors: authentication, missing database ...
        console.print(f"[red]Refused[/red] by {migrations.where()}: {exc}")
        raise typer.Exit(2) from None


@app.command()
def migrate(
    data_dir: DataDir = None,
    storage: StorageUrl = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Copy this store (sqlite:PATH) ... [with --to]."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="... into this one (postgresql://...).")
    ] = None,
) -> None:
    """Apply pending schema migrations, or copy a store into another (--from, --to)."""
    if from_ or to:
        if not (from_ and to):
            raise typer.BadParameter("--from and --to go together", param_hint="--from/--to")
        copy_store(settings_from(storage_url=from_), settings_from(storage_url=to))
        return
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    migrations = open_migrations(settings)
    before, after = asyncio.run(migrations.migrate())
    if before == after:
        console.print(f"Schema is up to date (version {after}) at {migrations.where()}")
    else:
        console.print(f"Migrated {migrations.where()} from version {before} to {after}")


def copy_store(source: Settings, target: Settings) -> None:
    """Copy every table of one store into another, with a progress bar per table."""
    from kith.storage.copy import TABLES, copy_table, open_pair

    async def run() -> dict[str, int]:
        copied: dict[str, int] = {}
        async with open_pair(source, target) as (reader, writer):
            with progress_bar("rows") as bar:
                for table in TABLES:
                    total = await reader.count(table)
                    task = bar.add_task(f"copy {table}", total=total)
                    copied[table] = await copy_table(
                        reader, writer, table, partial(bar.advance, task)
                    )
        return copied

    copied = asyncio.run(run())
    summary = ", ".join(f"{count:,} {table}" for table, count in copied.items())
    console.print(f"Copied {summary}")


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


def progress_bar(unit: str, *, transfer: bool = False) -> Progress:
    """A bar with the count, the rate and the time left, drawn on stderr."""
    rate: ProgressColumn = TransferSpeedColumn() if transfer else RateColumn(unit)
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn() if transfer else MofNCompleteColumn(),
        rate,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


class RateColumn(ProgressColumn):
    """Items per second, e.g. `12,345 rows/s`."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed or 0:,.0f} {self.unit}/s", style="progress.data.speed")


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


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, developer, marketer or viewer.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    data_dir: DataDir = None,
    storage: StorageUrl = None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    key, plain = with_services(settings, lambda s: s.keys.create(role, name))
    console.print(f"id:   {key.id}\nrole: {key.role.value}\nkey:  {plain}", highlight=False)
    console.print("[dim]Store the key now: it is not shown again.[/dim]")


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, storage: StorageUrl = None) -> None:
    """List keys (never the keys themselves)."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    keys = with_services(settings, lambda s: s.keys.list())
    table = Table("id", "role", "name", "created")
    for key in keys:
        table.add_row(key.id, key.role.value, key.name, key.created)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, data_dir: DataDir = None, storage: StorageUrl = None) -> None:
    """Revoke a key: it stops working at once."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    from kith.domain.errors import NotFound

    try:
        with_services(settings, lambda s: s.keys.revoke(key_id))
    except NotFound:
        console.print(f"[red]No key {key_id!r}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Revoked {key_id}")
