"""``ringrift hosts ...``: the machines in hosts.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from ..home import resolve_home
from ..remote.hosts_file import Host, find_hosts_file, load_hosts
from .options import HomeOption, JsonOption
from .render import console, print_json, table

GB = 1 << 30

hosts_app = typer.Typer(help="The machines work can run on (hosts.yaml).", no_args_is_help=True)

HostsOption = Annotated[
    Optional[Path],
    typer.Option("--hosts", help="Hosts file. Default: $RINGRIFT_HOSTS, else hosts.yaml in the data root, "
                 "else ./hosts.yaml.", show_default=False),
]


def read_hosts(given: Path | None, home: Path | None) -> tuple[Path, list[Host]]:
    path = find_hosts_file(given, resolve_home(home).root)
    return path, load_hosts(path)


@hosts_app.command("ls")
def ls(hosts: HostsOption = None, home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Validate the hosts file and list its machines."""
    path, entries = read_hosts(hosts, home)
    if json_output:
        print_json([host.to_dict() for host in entries])
        return
    out = table(f"hosts ({path})", ["name", "ssh", "slots", "gpus", "roles", "home"])
    for host in entries:
        out.add_row(host.name, host.ssh, str(host.slots), str(host.gpus), ",".join(host.roles), host.home)
    console().print(out)


@hosts_app.command("check")
def check(
    name: Annotated[Optional[str], typer.Argument(help="Check only this host. Default: every host.", show_default=False)] = None,
    hosts: HostsOption = None,
    home: HomeOption = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds each remote command may take.", min=1, max=3600)] = 60.0,
    json_output: JsonOption = False,
) -> None:
    """Probe hosts in parallel (reachability, latency, versions, Python, torch, CUDA, GPUs, disk, load),
    record their health in the state file, and show it. Exit 1 when any host is not ok."""
    from ..context import open_context
    from ..remote.probe import check_hosts
    from ..store.db import now
    from ..store.hosts import record_health

    path, entries = read_hosts(hosts, home)
    if name is not None:
        entries = [host for host in entries if host.name == name]
        if not entries:
            raise UserError(f"no host named {name!r} in {path}")
    with open_context(home) as ctx:
        reports = check_hosts(entries, timeout=timeout)
        checked_at = now()
        for host, report in zip(entries, reports):
            record_health(ctx.store, name=host.name, ssh=host.ssh, slots=host.slots, gpus=host.gpus,
                          roles=host.roles, home=host.home, health=report.health, reason=report.reason,
                          reachable=report.reachable, now=checked_at)
    if json_output:
        print_json(reports)
    else:
        _render_reports(path, reports)
    if any(report.health != "ok" for report in reports):
        raise typer.Exit(1)


def _render_reports(path: Path, reports) -> None:
    out = table(f"hosts ({path})", ["name", "health", "latency", "ringrift", "python", "torch", "cuda", "gpus",
                                    "free disk", "load", "why"])
    for report in reports:
        facts = report.facts
        latency = "-" if report.latency_ms is None else f"{report.latency_ms:.0f} ms"
        colour = {"ok": "green", "low_disk": "yellow"}.get(report.health, "red")
        cells = ["-"] * 7 if facts is None else [
            facts.ringrift, facts.python, facts.torch or "-", facts.cuda or "-", ", ".join(facts.gpus) or "-",
            f"{facts.free_disk_bytes / GB:.1f} GB", f"{facts.load:.2f}"]
        out.add_row(report.host, f"[{colour}]{report.health}[/]", latency, *cells, report.reason or "")
    console().print(out)


@hosts_app.command("describe")
def describe(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """This machine's ringrift, encoder and schema versions, Python, torch, CUDA, GPUs, free disk at the
    data root, and load: what `hosts check` reads from each host."""
    from ..remote.machine import describe_machine

    facts = describe_machine(resolve_home(home).root)
    if json_output:
        typer.echo(facts.to_json())
        return
    out = table("this machine", ["field", "value"])
    for key, value in facts.__dict__.items():
        out.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    console().print(out)


def register(app: typer.Typer) -> None:
    app.add_typer(hosts_app, name="hosts")
