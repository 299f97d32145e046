"""``ringrift sync``: pull games made on hosts, push the best models (and NPZ shards) to them."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .hosts import HostsOption, read_hosts
from .options import HomeOption, JsonOption
from .render import console, print_json, table


def sync(
    host: Annotated[Optional[str], typer.Option("--host", help="Only this host. Default: every host in the hosts "
                                                "file except the local machine.", show_default=False)] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only games (pull), npz or models (push). "
                                                "Default: all three.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would move; move and register nothing.")] = False,
    hosts: HostsOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reconcile artifacts with the hosts, checked by sha256 at both ends: pull the games shards a host
    made that are not registered here, push each config's best model to selfplay hosts and the NPZ shards
    to train hosts. Idempotent and resumable; never pushes to a host below its min_free_gb. Exit 1 when a
    host could not be reached or a file was refused."""
    from ..context import open_context
    from ..remote.sync import SYNC_KINDS, sync_hosts

    if kind is not None and kind not in SYNC_KINDS:
        raise UserError(f"--kind must be one of {', '.join(SYNC_KINDS)}, got {kind!r}")
    path, entries = read_hosts(hosts, home)
    entries = [entry for entry in entries if not entry.is_local]
    if host is not None:
        entries = [entry for entry in entries if entry.name == host]
        if not entries:
            raise UserError(f"no remote host named {host!r} in {path}")
    with open_context(home, write=not dry_run) as ctx:
        reports = sync_hosts(ctx, entries, (kind,) if kind else SYNC_KINDS, dry_run=dry_run, now=time.time())
    if json_output:
        print_json([asdict(report) for report in reports])
    else:
        render(path, reports, dry_run)
    if any(report.error or report.refused for report in reports):
        raise typer.Exit(1)


def render(path: Path, reports, dry_run: bool) -> None:
    verb = "would " if dry_run else ""
    out = table(f"sync ({path})", ["host", f"{verb}pull", f"{verb}push", "bytes", "refused or error"])
    for report in reports:
        problems = "; ".join(([report.error] if report.error else []) + report.refused)
        out.add_row(report.host, str(len(report.pulled)), str(len(report.pushed)), str(report.bytes), problems[:300])
    console().print(out)


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
