"""``ringrift hosts ...``: the machines in hosts.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..home import resolve_home
from ..remote.hosts_file import Host, find_hosts_file, load_hosts
from .options import HomeOption, JsonOption
from .render import console, print_json, table

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


def register(app: typer.Typer) -> None:
    app.add_typer(hosts_app, name="hosts")
