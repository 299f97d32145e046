"""``ringrift loop ...``: the tick (for cron or a systemd timer), halt/resume, status, units, run."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..context import open_context
from ..home import resolve_home
from .options import HomeOption, JsonOption, parse_duration
from .render import clock, console, print_json, table

loop_app = typer.Typer(
    help="Drive the pipeline from table state: `loop tick` from cron or a systemd timer, or `loop run` here.",
    no_args_is_help=True)

TICK_FAILED_EXIT = 1


@loop_app.command("tick")
def tick(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print every decision and its reason; write nothing.")] = False,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """One bounded pass: reap expired leases, read new events, enqueue the jobs that are due, record the tick.

    A second tick started meanwhile exits 0 at once. The exit code is non-zero only when
    the tick itself failed, so mail from cron means something.
    """
    from ..loop.tick import run_tick

    with open_context(home, write=not dry_run) as ctx:
        report = run_tick(ctx, time.time(), dry_run=dry_run)
    if json_output:
        print_json(report.to_dict())
    elif not report.ran:
        typer.echo(f"another tick is running ({report.held_by}); nothing to do")
    else:
        show_tick(report)
    if report.errors:
        raise typer.Exit(TICK_FAILED_EXIT)


def show_tick(report) -> None:
    head = "dry run: would" if report.dry_run else f"tick {report.tick_id}:"
    typer.echo(f"{head} reap {report.reaped} expired lease(s); backpressure {report.pressure}"
               + (f" ({'; '.join(report.pressure_reasons)})" if report.pressure_reasons else ""))
    for action in report.actions:
        typer.echo(f"  {action_line(action)}")
    for wait in report.waits:
        typer.echo(f"  wait {wait.config_key or '*'} {wait.stage}: {wait.reason}")
    hosts = report.hosts or {}
    for what in ("dispatched", "collected"):
        for item in hosts.get(what, []):
            typer.echo(f"  {what} {item['kind']} job {item['job_id']} {'to' if what == 'dispatched' else 'from'} "
                       f"{item['host']}")
    for item in hosts.get("refused", []):
        typer.echo(f"  refused job {item['job_id']} on {item['host']}: {item['reason']}")
    for line in hosts.get("unreachable", []):
        typer.echo(f"  unreachable {line}")
    for error in report.errors:
        typer.echo(f"error: {error}", err=True)


def action_line(action: dict) -> str:
    kind = action["action"]
    if kind == "enqueue":
        return f"enqueue {action['kind']} {action['config_key']} ({action['dedup_key']}): {action['reason']}"
    if kind == "setbreaker":
        return f"breaker {action['scope']} -> {action['state']}: {action['reason']}"
    if kind == "deletefile":
        return f"delete {action['kind']} file {action['path']}: {action['reason']}"
    return f"{kind}: {action['reason']}"


@loop_app.command("halt")
def halt(
    reason: Annotated[str, typer.Option("--reason", help="Why (shown by `status` while halted).")],
    home: HomeOption = None,
) -> None:
    """Stop the loop from starting new work; ticks keep reaping and book-keeping. Undo with `loop resume`."""
    from ..settings import coerce, setting_for
    from ..store.loop_state import set_halted

    reason = coerce(setting_for("loop.halt_reason"), reason)
    with open_context(home) as ctx:
        set_halted(ctx.store, True, reason, time.time())
    typer.echo(f"loop halted: {reason}")


@loop_app.command("resume")
def resume(home: HomeOption = None) -> None:
    """Let the loop start new work again after `loop halt`."""
    from ..store.loop_state import set_halted

    with open_context(home) as ctx:
        set_halted(ctx.store, False, "", time.time())
    typer.echo("loop resumed")


@loop_app.command("status")
def status(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Why the loop waits, per config: thresholds, backpressure, breakers, halt; and the last ticks."""
    from ..loop.tick import run_tick
    from ..store.loop_state import recent_ticks

    with open_context(home, write=False) as ctx:
        report = run_tick(ctx, time.time(), dry_run=True)
        ticks = recent_ticks(ctx.store, 5)
    if json_output:
        print_json({"plan": report.to_dict(), "recent_ticks": [
            {"id": t.id, "started_at": t.started_at, "actions": len(t.actions), "errors": t.errors} for t in ticks]})
        return
    render_waits(report)
    out = table("recent ticks", ["id", "at", "actions", "errors"])
    for t in ticks:
        out.add_row(str(t.id), clock(t.started_at), str(len(t.actions)), "; ".join(t.errors))
    console().print(out)


def render_waits(report) -> None:
    """The 'why the loop waits' table (also part of `ringrift status`)."""
    out = table(f"loop: backpressure {report.pressure}", ["config", "stage", "next", "why"])
    for action in report.actions:
        if action["action"] == "enqueue":
            out.add_row(action["config_key"], action["kind"], "due", action["reason"])
    for wait in report.waits:
        out.add_row(wait.config_key or "*", wait.stage, "waits", wait.reason)
    console().print(out)


@loop_app.command("units")
def units(
    home: HomeOption = None,
    workdir: Annotated[Optional[Path], typer.Option(help="Working directory for the units. Default: the current one.")] = None,
) -> None:
    """Print systemd units (tick service + timer, worker) and a cron line with this machine's paths."""
    from ..loop.units import cron_line, unit_files

    root = resolve_home(home).root.resolve()
    exe = [shutil.which("ringrift")] if shutil.which("ringrift") else [sys.executable, "-m", "ringrift_cli"]
    where = (workdir or Path.cwd()).resolve()
    typer.echo("# Either one crontab line (crontab -e):")
    typer.echo(cron_line(root, exe, where))
    typer.echo("# or these systemd units, each under its name in /etc/systemd/system/ (or ~/.config/systemd/user/),")
    typer.echo("# then: systemctl enable --now ringrift-tick.timer ringrift-worker.service")
    for unit in unit_files(root, exe, where):
        typer.echo(f"# {unit.name}")
        typer.echo(unit.text)


@loop_app.command("run")
def run(
    iterations: Annotated[Optional[int], typer.Option(help="Stop after this many ticks.", min=1, max=1_000_000)] = None,
    until_promoted: Annotated[bool, typer.Option("--until-promoted", help="Stop once a model has been promoted.")] = False,
    for_: Annotated[Optional[str], typer.Option("--for", help="Stop after this long, e.g. 30m or 2h.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes running jobs at once.", min=1, max=64)] = 1,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """The one-machine default: alternate ticks with local workers until the end condition holds.

    Ctrl-C hands running jobs back to the queue.
    """
    from ..errors import UserError
    from ..loop.run import EndCondition, run_loop

    if iterations is None and not until_promoted and for_ is None:
        raise UserError("say when to stop: --iterations N, --until-promoted or --for DURATION (e.g. --for 8h)")
    end = EndCondition(iterations=iterations, until_promoted=until_promoted,
                       seconds=parse_duration(for_) if for_ is not None else None)
    summary = run_loop(resolve_home(home), end, workers, live=not json_output and sys.stdout.isatty(),
                       say=(lambda line: None) if json_output else typer.echo)
    if json_output:
        print_json(summary)


def register(app: typer.Typer) -> None:
    app.add_typer(loop_app, name="loop")
