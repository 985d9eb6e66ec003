"""`kith serve` and `kith migrate`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated, Any

import typer

from kith.cli.common import (
    DataDir,
    StorageUrl,
    app,
    console,
    progress_bar,
    setting_help,
    settings_from,
)
from kith.config import Settings
from kith.storage import open_migrations


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
        with worker_metrics(settings):
            uvicorn.run(
                "kith.app:app_from_environment", factory=True, workers=settings.workers, **options
            )
        return
    from kith.app import build_app, tune_garbage_collector

    tune_garbage_collector()
    uvicorn.run(build_app(settings), **options)


@contextmanager
def worker_metrics(settings: Settings) -> Iterator[None]:
    """One directory of metric files for this start, empty, named to the workers before
    they start (prometheus_client reads `PROMETHEUS_MULTIPROC_DIR` when imported); a
    temporary one is removed when the server exits."""
    if not settings.metrics:
        yield
        return
    from kith.metrics import multiprocess

    directory, temporary = multiprocess.prepare_directory(settings.metrics_dir)
    os.environ[multiprocess.ENVIRONMENT_VARIABLE] = str(directory)
    os.environ["KITH_METRICS_DIR"] = str(directory)
    try:
        yield
    finally:
        if temporary:
            multiprocess.remove_directory(directory)


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
