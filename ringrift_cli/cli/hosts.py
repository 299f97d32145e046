"""``ringrift hosts ...``: the machines in hosts.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from ..home import resolve_home
from ..remote.hosts_file import load_hosts
from .options import JsonOption
from .render import console, print_json, table

hosts_app = typer.Typer(help="The machines work can run on (hosts.yaml).", no_args_is_help=True)

HOSTS_ENV = "RINGRIFT_HOSTS"
HOSTS_FILE = "hosts.yaml"


def hosts_path(given: Path | None) -> Path:
    """``--hosts``, else ``$RINGRIFT_HOSTS``, else the first of ``$RINGRIFT_HOME/hosts.yaml`` and
    ``./hosts.yaml`` that exists; a UserError saying where it looked when none does."""
    if given is not None:
        return given
    if os.environ.get(HOSTS_ENV):
        return Path(os.environ[HOSTS_ENV])
    places = [resolve_home().root / HOSTS_FILE, Path(HOSTS_FILE)]
    for place in places:
        if place.is_file():
            return place
    raise UserError(f"no hosts file: looked for --hosts, ${HOSTS_ENV}, then {places[0]} and ./{HOSTS_FILE}")


@hosts_app.command("ls")
def ls(
    hosts: Annotated[Optional[Path], typer.Option("--hosts", help="Hosts file. Default: $RINGRIFT_HOSTS, else $RINGRIFT_HOME/hosts.yaml, else ./hosts.yaml.", show_default=False)] = None,
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
