"""`kith keys create | list | revoke`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kith.cli.common import DataDir, StorageUrl, app, console, settings_from, with_services
from kith.domain.access import Role

keys_app = typer.Typer(help="Manage admin API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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
