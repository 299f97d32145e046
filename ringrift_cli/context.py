"""What a command needs once the data root is known: the open store and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .errors import UserError
from .home import Home, resolve_home
from .settings import EffectiveSetting, read_yaml_settings, resolve_settings
from .store import Store, open_store
from .store.queue import QueuePolicy
from .store.settings import stored_settings


@dataclass
class Context:
    home: Home
    store: Store

    @cached_property
    def effective_settings(self) -> list[EffectiveSetting]:
        return resolve_settings(read_yaml_settings(self.home.settings_file), stored_settings(self.store))

    def setting(self, key: str) -> Any:
        for effective in self.effective_settings:
            if effective.setting.key == key:
                return effective.value
        raise KeyError(key)

    def queue_policy(self) -> QueuePolicy:
        return QueuePolicy(
            lease_seconds=self.setting("queue.lease_seconds"),
            max_attempts=self.setting("queue.max_attempts"),
            backoff_base_seconds=self.setting("queue.backoff_base_seconds"),
            backoff_max_seconds=self.setting("queue.backoff_max_seconds"),
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


EXAMPLE_SUFFIX = ".example"


def open_context(home: Path | str | None = None, *, write: bool = True) -> Context:
    """Open the data root's state file: for writing (migrating it forward if needed), or with
    ``write=False`` read-only, so that a command that only reads can change nothing.

    A shipped example state file (``*.example``) is only ever opened read-only."""
    resolved = resolve_home(home)
    if write and resolved.state_file.name.endswith(EXAMPLE_SUFFIX):
        raise UserError(f"{resolved.state_file} is an example: only commands that read (status, queue ls, "
                        f"queue show, config show) use it; copy it to a data root to change it")
    return Context(home=resolved, store=open_store(resolved.state_file, read_only=not write))
