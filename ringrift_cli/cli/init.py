"""``ringrift init``: create the data root and its state file."""

from __future__ import annotations

import typer

from ..home import DATA_DIRS, STATE_FILE, resolve_home
from ..store import SCHEMA_VERSION, create_store, open_store
from .options import HomeOption, JsonOption
from .render import print_json


def init(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Create the data root (games/, npz/, models/, runs/) and queue.db. Safe to run again."""
    resolved = resolve_home(home)
    if resolved.state_file.exists() and resolved.state_file.name != STATE_FILE:
        # --home named a file: only a state file is acceptable (not an empty or foreign one).
        open_store(resolved.state_file).close()
    for name in DATA_DIRS:
        resolved.data_dir(name).mkdir(parents=True, exist_ok=True)
    store, applied = create_store(resolved.state_file)
    store.close()
    if json_output:
        print_json({"home": str(resolved.root), "state_file": str(resolved.state_file),
                    "schema_version": SCHEMA_VERSION, "migrations_applied": applied})
    elif applied:
        typer.echo(f"initialised {resolved.root} (state file {resolved.state_file}, schema {SCHEMA_VERSION})")
    else:
        typer.echo(f"{resolved.root} is already initialised (schema {SCHEMA_VERSION}); nothing changed")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
