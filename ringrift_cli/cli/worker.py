"""``ringrift worker``: run queued jobs here until none is left."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..context import open_context
from ..errors import UserError
from ..keys import STAGES, check_worker_name, parse_stage_list
from ..stages.handlers import load_handlers, plugin_modules
from ..runner.worker import default_worker_name, run_worker
from .options import HomeOption, JsonOption, LeaseOption, whole_number
from .render import print_json, progress_bar, short


def worker(
    kinds: Annotated[Optional[str], typer.Option(help="Comma-separated kinds to run. Default: every kind with a handler.")] = None,
    max_jobs: Annotated[Optional[int], typer.Option(help="Stop after this many jobs (1 or more).", callback=whole_number(1))] = None,
    lease: LeaseOption = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Worker name recorded on claims. Default: HOST:PID.")] = None,
    plugin: Annotated[Optional[list[str]], typer.Option("--plugin", help="Python module whose HANDLERS dict adds or replaces stage handlers; repeatable (also $RINGRIFT_PLUGINS).")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Claim and run jobs (heartbeating while each runs), then exit when no work is left."""
    handlers = load_handlers(plugin_modules(plugin))
    wanted = parse_stage_list(kinds) if kinds else STAGES
    runnable = tuple(kind for kind in wanted if kind in handlers)
    if not runnable:
        raise UserError(f"no handler for {', '.join(wanted)} yet; add one with --plugin")
    worker_name = check_worker_name(name) if name is not None else default_worker_name()

    def say(what: str, job) -> None:
        if json_output:
            return
        line = f"{what:>7} job {job.id}: {job.kind} {job.config_key} (attempt {job.attempts})"
        if what == "failed":
            line += f": {short(job.error, 200)} (now {job.status})"
        typer.echo(line)

    def bar(job):
        return progress_bar(f"job {job.id} {job.kind} {job.config_key}", "",
                            enabled=not json_output and sys.stdout.isatty())

    with open_context(home) as ctx:
        report = run_worker(ctx, handlers, worker=worker_name, kinds=runnable,
                            max_jobs=max_jobs, lease_seconds=lease, on_event=say, progress_for=bar)
    if json_output:
        print_json({"worker": worker_name, **report.__dict__})
    else:
        typer.echo(f"{worker_name}: {len(report.done)} done, {len(report.failed)} failed, {len(report.lost)} lost; no more work")


def run_job(
    spec: Annotated[Path, typer.Argument(help="The job's spec file, runs/<job>/spec.json under the data root.",
                                         show_default=False)],
    home: HomeOption = None,
    heartbeat: Annotated[float, typer.Option("--heartbeat", help="Seconds between rewrites of status.json.",
                                             min=0.05, max=3600)] = 10.0,
    json_output: JsonOption = False,
) -> None:
    """Run one job's run step from its spec file (what a controller starts on a host, detached), writing
    runs/<job>/status.json as it goes; never opens the state file. Exit 1 when the run failed."""
    from ..home import resolve_home
    from ..runner.run_job import run_job as run_spec

    status = run_spec(resolve_home(home).root, spec, heartbeat_seconds=heartbeat)
    if json_output:
        typer.echo(status.to_json())
    else:
        typer.echo(f"job {status.job_id}: {status.state}" + (f": {status.error}" if status.error else ""))
    if status.state != "done":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("run-job")(run_job)
