"""``ringrift status``: the whole state file at a glance."""

from __future__ import annotations

from typing import Annotated

import typer

from ..context import open_context
from ..status import Status, collect_status
from ..verify import verify_all
from ..store.queue import STATUSES
from .options import HomeOption, JsonOption
from .loop import render_waits
from .queue import dead_table
from .render import age, clock, console, print_json, remaining, short, table


VERIFY_FAILED_EXIT = 1


def status(
    home: HomeOption = None,
    verify: Annotated[bool, typer.Option("--verify", help="Also check every registered file against its size and "
                                         "sha256, quarantining any that does not match (exit 1 if one did).")] = False,
    json_output: JsonOption = False,
) -> None:
    """Queue depth, claimed jobs, dead letters, breakers, recent events and changed settings."""
    with open_context(home, write=verify) as ctx:
        checked, problems = verify_all(ctx) if verify else (0, [])
        snapshot = collect_status(ctx)
    if json_output:
        verified = {"verified": {"checked": checked, "quarantined": [
            {"artifact_id": p.artifact.id, "path": p.artifact.path, "reason": p.reason} for p in problems]}}
        print_json({**status_json(snapshot), **(verified if verify else {})})
    else:
        render_status(snapshot)
        if verify:
            for problem in problems:
                typer.echo(f"quarantined {problem.artifact.path}: {problem.reason}", err=True)
            typer.echo(f"verified {checked} file(s): {len(problems)} quarantined")
    if problems:
        raise typer.Exit(VERIFY_FAILED_EXIT)


def status_json(snapshot: Status) -> dict:
    return {
        "home": snapshot.home,
        "taken_at": snapshot.taken_at,
        "depth": snapshot.depth,
        "claimed": [job.to_dict() for job in snapshot.claimed],
        "dead": [job.to_dict() for job in snapshot.dead],
        "breakers": snapshot.breakers,
        "events": snapshot.events,
        "data": snapshot.data,
        "best_models": [vars(row) for row in snapshot.best_models],
        "hosts": [vars(row) for row in snapshot.hosts],
        "changed_settings": [{"key": e.setting.key, "value": e.value, "source": e.source}
                             for e in snapshot.changed_settings],
        "loop": snapshot.loop.to_dict() if snapshot.loop else None,
    }


def render_status(snapshot: Status) -> None:
    out = console()
    out.print(f"[bold]ringrift[/bold] {snapshot.home}  ({clock(snapshot.taken_at)} UTC)")
    depth = table("queue", ["kind", *STATUSES])
    for kind, counts in snapshot.depth.items():
        depth.add_row(kind, *(str(counts[s]) if counts[s] else "·" for s in STATUSES))
    out.print(depth)

    if snapshot.data:
        data = table("data", ["config", "games shards", "games", "not exported", "npz shards", "samples"])
        for row in snapshot.data:
            data.add_row(row.config_key, str(row.games_shards), str(row.games), str(row.unexported_shards),
                         str(row.npz_shards), str(row.samples))
        out.print(data)

    if snapshot.best_models:
        best = table("best models", ["config", "model", "elo", "95% interval", "games"])
        for row in snapshot.best_models:
            rated = row.elo is not None
            best.add_row(row.config_key, row.model_id[:12], f"{row.elo:.0f}" if rated else "·",
                         f"{row.low:.0f} to {row.high:.0f}" if rated else "·", str(row.games))
        out.print(best)

    if snapshot.hosts:
        hosts = table("hosts", ["name", "health", "last seen", "slots in use", "jobs", "bytes moved"])
        for row in snapshot.hosts:
            hosts.add_row(row.name, row.health or "unchecked", age(row.last_seen, snapshot.taken_at),
                          f"{len(row.jobs)}/{row.slots}", ", ".join(map(str, row.jobs)) or "·",
                          size_text(row.bytes_moved))
        out.print(hosts)

    claimed = table(f"claimed ({len(snapshot.claimed)})", ["id", "kind", "config", "worker", "claimed", "lease left", "attempts"])
    for job in snapshot.claimed:
        claimed.add_row(str(job.id), job.kind, job.config_key, job.claimed_by or "", age(job.started_at, snapshot.taken_at),
                        remaining(job.lease_until, snapshot.taken_at), f"{job.attempts}/{job.max_attempts}")
    out.print(claimed)
    if snapshot.loop is not None:
        render_waits(snapshot.loop)
    out.print(dead_table(snapshot.dead))

    breakers = table("breakers", ["scope", "state", "failures", "retry", "last error"])
    for breaker in snapshot.breakers:
        breakers.add_row(breaker.scope, breaker.effective_state(snapshot.taken_at), str(breaker.failures),
                         age(breaker.retry_at, snapshot.taken_at), short(breaker.last_error, 50))
    out.print(breakers)

    events = table("recent events", ["id", "age", "type", "config", "job", "payload"])
    for event in snapshot.events:
        events.add_row(str(event.id), age(event.created_at, snapshot.taken_at), event.type, event.config_key or "",
                       str(event.job_id or ""), short(str(event.payload), 60))
    out.print(events)

    if snapshot.changed_settings:
        settings = table("settings changed from default", ["key", "value", "source"])
        for e in snapshot.changed_settings:
            settings.add_row(e.setting.key, str(e.value), e.source)
        out.print(settings)
    else:
        out.print("settings: all defaults")


def size_text(size: float) -> str:
    """Bytes as 512 B, 3.2 KB, 41.0 MB or 2.5 GB."""
    if size < 1024:
        return f"{size:.0f} B"
    for unit in ("KB", "MB"):
        size /= 1024
        if size < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} GB"


def register(app: typer.Typer) -> None:
    app.command("status")(status)
