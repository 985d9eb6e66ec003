"""What every command shares: the app, the console, settings from flags and environment,
services for the length of a command, and progress bars."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
from rich.text import Text

from kith.config import Settings
from kith.services import Services, build_services

T = TypeVar("T")
app = typer.Typer(help="Kith: an open-source Customer Data Platform.", no_args_is_help=True)
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
