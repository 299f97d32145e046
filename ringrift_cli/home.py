"""Where the data root is, and what lives in it.

One function decides the data root so that every command, and every test
(which points ``RINGRIFT_HOME`` at a temporary directory), agrees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "RINGRIFT_HOME"
DEFAULT_HOME = "ringrift-data"
STATE_FILE = "queue.db"
SETTINGS_FILE = "ringrift.yaml"
DATA_DIRS = ("games", "npz", "models", "runs")


@dataclass(frozen=True)
class Home:
    """The data root and the paths inside it."""

    root: Path
    state_file: Path

    @property
    def settings_file(self) -> Path:
        return self.root / SETTINGS_FILE

    def data_dir(self, name: str) -> Path:
        return self.root / name


def resolve_home(given: Path | str | None = None) -> Home:
    """Resolve the data root: ``given``, else ``$RINGRIFT_HOME``, else ``./ringrift-data``.

    ``given`` may also name a state file directly (e.g. ``queue.db.example``);
    its directory is then the root.
    """
    raw = given if given not in (None, "") else os.environ.get(HOME_ENV) or DEFAULT_HOME
    path = Path(raw).expanduser()
    if path.is_file():
        return Home(root=path.parent, state_file=path)
    return Home(root=path, state_file=path / STATE_FILE)
