"""`kith serve | migrate | keys ...`: the command line, one Settings built per command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from kith.config import Settings
from kith.domain.access import Role
from kith.services import Services, build_services

T = TypeVar("T")
app = typer.Typer(help="Kith: an open-source Customer Data Platform.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage admin API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory [env KITH_DATA_DIR].")
]
StorageUrl = Annotated[
    str | None, typer.Option("--storage", help="Storage URL [env KITH_STORAGE_URL].")
]


def settings_from(**overrides: Any) -> Settings:
    """Environment first, then the command-line flags that were given."""
    settings = Settings(**{name: value for name, value in overrides.items() if value is not None})
    if settings.storage_kind == "postgresql":
        console.print(
            "[red]The PostgreSQL engine is not part of this version of Kith.[/red] "
            "Leave --storage / KITH_STORAGE_URL empty to use the embedded store."
        )
        raise typer.Exit(2)
    return settings


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
    host: Annotated[str | None, typer.Option(help="Interface [env KITH_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env KITH_PORT].")] = None,
    data_dir: DataDir = None,
    storage: StorageUrl = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes, PostgreSQL only [env KITH_WORKERS].")
    ] = None,
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
    import uvicorn

    from kith.app import build_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )


@app.command()
def migrate(data_dir: DataDir = None, storage: StorageUrl = None) -> None:
    """Apply pending schema migrations to the store."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)
    from kith.storage.sqlite.engine import migrate_file

    before, after = migrate_file(settings.sqlite_path)
    if before == after:
        console.print(f"Schema is up to date (version {after}) at {settings.sqlite_path}")
    else:
        console.print(f"Migrated {settings.sqlite_path} from version {before} to {after}")


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
