"""``ringrift queue ...``: add and inspect jobs, and take part in the queue from the shell."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..context import open_context
from ..keys import check_config_key, check_stage, parse_stage_list, STAGES
from ..store import queue as jobs
from ..store.events import events_for_job, prune_events
from ..store.status import dead_jobs
from ..settings import lease_bounds, setting_for
from ..json_input import loads_object
from .options import ClaimOption, whole_number, HomeOption, JsonOption, LeaseOption, WorkerOption, parse_duration
from .render import age, clock, console, fitted_table, print_json, short, table

queue_app = typer.Typer(help="Add, inspect, claim and finish jobs in the work-queue.", no_args_is_help=True)

NO_JOB_EXIT = 3
JobId = Annotated[int, typer.Argument(help="Job id.", callback=whole_number(1), show_default=False)]
MAX_ATTEMPTS = int(setting_for("queue.max_attempts").maximum)


@queue_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help=f"Pipeline stage: {', '.join(STAGES)}.", show_default=False)],
    config_key: Annotated[str, typer.Argument(help="Config key, e.g. hex8_2p.", show_default=False)],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE job parameter, checked against the kind's params (see `ringrift selfplay --help`); repeatable.")] = None,
    priority: Annotated[int, typer.Option(help="Higher runs first; 0 or more.", callback=whole_number(0))] = 0,
    dedup: Annotated[Optional[str], typer.Option("--dedup", help="Idempotency key: adding the same key again adds nothing.")] = None,
    max_attempts: Annotated[Optional[int], typer.Option(help=f"Claims before the job goes dead (1 to {MAX_ATTEMPTS}). Default: setting queue.max_attempts.", callback=whole_number(1, MAX_ATTEMPTS))] = None,
    host: Annotated[Optional[str], typer.Option(help="Pin the job to this host name.")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a job to the queue."""
    from ..stages.param_schema import parse_params

    spec = jobs.JobSpec(kind=check_stage(kind), config_key=check_config_key(config_key),
                        params=parse_params(kind, param), priority=priority, dedup_key=dedup,
                        max_attempts=max_attempts, host=host)
    with open_context(home) as ctx:
        job, created = jobs.enqueue(ctx.store, spec, ctx.queue_policy())
    if json_output:
        print_json({**job.to_dict(), "created": created})
    elif created:
        typer.echo(f"added job {job.id}: {job.kind} {job.config_key}")
    else:
        typer.echo(f"job {job.id} already has dedup key {dedup!r}; nothing added")


@queue_app.command("ls")
def ls(
    status: Annotated[Optional[str], typer.Option(help="Only jobs with this status: " + ", ".join(jobs.STATUSES) + ".")] = None,
    kind: Annotated[Optional[str], typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first); 1 or more.", callback=whole_number(1))] = 50,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    if kind is not None:
        check_stage(kind)
    with open_context(home, write=False) as ctx:
        rows = jobs.list_jobs(ctx.store, status=status, kind=kind, limit=limit)
    if json_output:
        print_json([job.to_dict() for job in rows])
        return
    cells = [[str(job.id), job.kind, job.config_key, job.status, str(job.priority), f"{job.attempts}/{job.max_attempts}",
              age(job.updated_at), job.claimed_by or "", short(job.error, 40)] for job in rows]
    console().print(fitted_table(f"jobs ({len(rows)} shown)",
                                 ["id", "kind", "config", "status", "prio", "tries", "updated", "worker", "error"],
                                 cells, flexible=("worker", "error")))


@queue_app.command("show")
def show(job_id: JobId, home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Show one job with its parameters, result, error and events."""
    with open_context(home, write=False) as ctx:
        job = jobs.get_job(ctx.store, job_id)
        events = events_for_job(ctx.store, job_id)
    if json_output:
        print_json({**job.to_dict(), "events": events})
        return
    out = table(f"job {job.id}", ["field", "value"])
    for key, value in job.to_dict().items():
        shown = clock(value) if key.endswith(("_at", "_until")) or key == "not_before" else value
        out.add_row(key, "" if shown is None else str(shown))
    console().print(out)
    history = table("events", ["id", "time", "type", "payload"])
    for event in events:
        history.add_row(str(event.id), clock(event.created_at), event.type, short(str(event.payload), 80))
    console().print(history)


@queue_app.command("retry")
def retry(job_id: JobId, home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Put a dead or cancelled job back in the queue with fresh attempts."""
    with open_context(home) as ctx:
        job = jobs.retry(ctx.store, job_id)
    print_json(job.to_dict()) if json_output else typer.echo(f"job {job.id} queued again")


@queue_app.command("cancel")
def cancel(job_id: JobId, home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Cancel a queued or claimed job (a worker holding it can no longer complete it)."""
    with open_context(home) as ctx:
        job = jobs.cancel(ctx.store, job_id)
    print_json(job.to_dict()) if json_output else typer.echo(f"job {job.id} cancelled")


@queue_app.command("dead")
def dead(
    limit: Annotated[int, typer.Option(help="Show at most this many; 1 or more.", callback=whole_number(1))] = 50,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """The dead-letter list: jobs that used up their attempts, with their last error."""
    with open_context(home, write=False) as ctx:
        rows = dead_jobs(ctx.store, limit)
    if json_output:
        print_json([job.to_dict() for job in rows])
        return
    console().print(dead_table(rows))


def dead_table(rows: list[jobs.Job]):
    out = table(f"dead jobs ({len(rows)})", ["id", "kind", "config", "attempts", "died", "last error"])
    for job in rows:
        out.add_row(str(job.id), job.kind, job.config_key, str(job.attempts), age(job.updated_at), short(job.error))
    return out


@queue_app.command("purge")
def purge(
    done: Annotated[bool, typer.Option("--done", help="Purge completed jobs.")] = False,
    cancelled: Annotated[bool, typer.Option("--cancelled", help="Purge cancelled jobs.")] = False,
    dead_jobs_too: Annotated[bool, typer.Option("--dead", help="Purge dead jobs.")] = False,
    events: Annotated[bool, typer.Option("--events", help="Purge events (the newest one always stays).")] = False,
    older_than: Annotated[str, typer.Option(help="Only jobs finished longer ago than this (e.g. 12h, 7d).")] = "7d",
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete finished jobs (and, with --events, events) older than a given age."""
    statuses = tuple(s for s, on in (("done", done), ("cancelled", cancelled), ("dead", dead_jobs_too)) if on)
    if not statuses and not events:
        raise typer.BadParameter("say what to purge: --done, --cancelled, --dead and/or --events")
    seconds = parse_duration(older_than)
    with open_context(home) as ctx:
        count = jobs.purge(ctx.store, statuses, seconds) if statuses else 0
        pruned = prune_events(ctx.store, seconds) if events else 0
    if json_output:
        print_json({"purged": count, "events_purged": pruned})
    else:
        typer.echo(f"purged {count} job(s)" + (f" and {pruned} event(s)" if events else ""))


@queue_app.command("claim")
def claim(
    worker: WorkerOption,
    kinds: Annotated[Optional[str], typer.Option(help="Comma-separated kinds to accept. Default: all.")] = None,
    lease: LeaseOption = None,
    host: Annotated[Optional[str], typer.Option(help="Claim on behalf of this host (also takes jobs pinned to it).")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Claim the most urgent ready job. Exits 3 when there is none."""
    wanted = parse_stage_list(kinds) if kinds else STAGES
    with open_context(home) as ctx:
        job = jobs.claim(ctx.store, worker, wanted, ctx.queue_policy(), host=host, lease_seconds=lease)
    if job is None:
        if not json_output:
            typer.echo("no job to claim", err=True)
        raise typer.Exit(NO_JOB_EXIT)
    if json_output:
        print_json(job.to_dict())
    else:
        typer.echo(f"claimed job {job.id}: {job.kind} {job.config_key} (claim {job.claim_seq}, attempt {job.attempts}, "
                   f"lease until {clock(job.lease_until)})")


@queue_app.command("heartbeat")
def heartbeat(
    job_id: JobId, worker: WorkerOption, claim: ClaimOption,
    lease: Annotated[Optional[float], typer.Option(help="New lease in seconds. Default: the claim's own lease length.", min=lease_bounds()[0], max=lease_bounds()[1])] = None,
    home: HomeOption = None, json_output: JsonOption = False,
) -> None:
    """Extend the lease of a job this worker holds (exit 2 if the claim was lost)."""
    with open_context(home) as ctx:
        job = jobs.heartbeat(ctx.store, job_id, worker, claim, lease_seconds=lease)
    print_json(job.to_dict()) if json_output else typer.echo(f"job {job.id} leased until {clock(job.lease_until)}")


@queue_app.command("complete")
def complete(
    job_id: JobId, worker: WorkerOption, claim: ClaimOption,
    result: Annotated[Optional[str], typer.Option(help="The job's result as a JSON object.")] = None,
    home: HomeOption = None, json_output: JsonOption = False,
) -> None:
    """Mark a job this worker holds as done (exit 2 if the claim was lost)."""
    parsed = loads_object(result, "--result") if result is not None else None
    with open_context(home) as ctx:
        job = jobs.complete(ctx.store, job_id, worker, claim, parsed)
    print_json(job.to_dict()) if json_output else typer.echo(f"job {job.id} done")


@queue_app.command("fail")
def fail(
    job_id: JobId, worker: WorkerOption,
    error: Annotated[str, typer.Option(help="What went wrong (kept on the job).")],
    claim: ClaimOption,
    permanent: Annotated[bool, typer.Option("--permanent", help="Do not retry: send the job straight to dead.")] = False,
    home: HomeOption = None, json_output: JsonOption = False,
) -> None:
    """Record a failed attempt: the job is retried after a backoff, or goes dead when out of attempts."""
    with open_context(home) as ctx:
        job = jobs.fail(ctx.store, job_id, worker, claim, error, ctx.queue_policy(), retry=not permanent)
    if json_output:
        print_json(job.to_dict())
    elif job.status == "dead":
        typer.echo(f"job {job.id} is dead after {job.attempts} attempt(s)")
    else:
        typer.echo(f"job {job.id} will be retried after {clock(job.not_before)}")


@queue_app.command("reap")
def reap(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Return jobs whose lease has passed without a heartbeat to the queue (or to dead)."""
    with open_context(home) as ctx:
        reaped = jobs.reap_expired(ctx.store, ctx.queue_policy())
    if json_output:
        print_json([job.to_dict() for job in reaped])
    else:
        typer.echo(f"reaped {len(reaped)} job(s)" + "".join(f"\n  {job.id}: now {job.status}" for job in reaped))


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
