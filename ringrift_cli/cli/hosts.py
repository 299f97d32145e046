"""``ringrift hosts ...``: the machines in hosts.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..remote.hosts_file import load_hosts
from .options import JsonOption
from .render import console, print_json, table

hosts_app = typer.Typer(help="The machines work can run on (hosts.yaml).", no_args_is_help=True)

HOSTS_ENV = "RINGRIFT_HOSTS"


def hosts_path(given: Path | None) -> Path:
    """``--hosts``, else ``$RINGRIFT_HOSTS``, else ./hosts.yaml."""
    return given or Path(os.environ.get(HOSTS_ENV) or "hosts.yaml")


@hosts_app.command("ls")
def ls(
    hosts: Annotated[Optional[Path], typer.Option("--hosts", help="Hosts file. Default: $RINGRIFT_HOSTS, else ./hosts.yaml.", show_default=False)] = None,
    json_output: JsonOption = False,
) -> None:
    """Validate the hosts file and list its machines."""
    path = hosts_path(hosts)
    entries = load_hosts(path)
    if json_output:
        print_json([host.to_dict() for host in entries])
        return
    out = table(f"hosts ({path})", ["name", "ssh", "slots", "gpus", "roles", "home"])
    for host in entries:
        out.add_row(host.name, host.ssh, str(host.slots), str(host.gpus), ",".join(host.roles), host.home)
    console().print(out)


def register(app: typer.Typer) -> None:
    app.add_typer(hosts_app, name="hosts")
