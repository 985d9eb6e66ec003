"""`kith segments refresh ID`: re-evaluate every profile for a segment, with a progress bar."""

from __future__ import annotations

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
from kith.domain.errors import NotFound
from kith.services import Services
from kith.storage.ports import Job

segments_app = typer.Typer(help="Segments.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")


@segments_app.command("refresh")
def refresh(
    segment: Annotated[str, typer.Argument(help="The segment id.")],
    data_dir: DataDir = None,
    storage: StorageUrl = None,
) -> None:
    """Re-evaluate every profile for SEGMENT, here, showing progress.

    The refresh is a job (`GET /api/jobs/{id}` shows it too). If one is already
    queued or running for the segment, this command takes it over and continues
    from where it stands."""
    settings = settings_from(data_dir=data_dir, storage_url=storage)

    from kith.app import tune_garbage_collector

    async def work(services: Services) -> Job:
        # as `kith serve` does: with the default thresholds the collector runs every
        # few hundred decoded profiles and the walk takes 2-3x the CPU (bench/README.md)
        tune_garbage_collector()
        try:
            job = await services.segments.refresh(segment)
        except NotFound:
            console.print(f"[red]No segment {segment!r}[/red]")
            raise typer.Exit(2) from None
        kind = services.job_runner.kind(job.kind)
        with progress_bar("profiles") as bar:
            task = bar.add_task(f"refresh {segment}", total=job.total)

            def show(current: Job) -> None:
                bar.update(task, completed=current.done, total=current.total)

            return await services.jobs.run_here(
                job, kind, lease=settings.lease_seconds, listener=show
            )

    done = with_services(settings, work)
    if done.status != "done":
        console.print(f"[red]Refresh failed[/red]: {done.error}")
        raise typer.Exit(1)
    console.print(f"Refreshed {segment}: {done.done:,} profiles (job {done.id}).")
