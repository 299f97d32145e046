"""What a command needs once the data root is known: the open store and effective settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

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


def open_context(home: Path | str | None = None, *, read_only: bool = False) -> Context:
    """Open the data root's state file (migrating it forward if needed, unless ``read_only``)."""
    resolved = resolve_home(home)
    return Context(home=resolved, store=open_store(resolved.state_file, read_only=read_only))
