"""Everything a tick decides on, read once from the state file (and the disk) at one moment."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.breakers import Breaker
from ..store.events import Event
from ..store.loop_state import ActiveCount, ConfigFacts, FileToDelete


@dataclass(frozen=True)
class Snapshot:
    now: float
    configs: dict[str, ConfigFacts]
    active: tuple[ActiveCount, ...]
    breakers: dict[str, Breaker]
    outcomes: tuple[Event, ...]   # job outcomes since the loop's cursor, oldest first
    free_gb: float
    last_maintenance: float | None
    halted_at: float | None
    expired_games: tuple[FileToDelete, ...] = ()
    surplus_models: tuple[FileToDelete, ...] = ()

    def active_count(self, kind: str, config_key: str | None = None) -> int:
        return sum(row.count for row in self.active
                   if row.kind == kind and (config_key is None or row.config_key == config_key))

    def queued_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.active:
            if row.status == "queued":
                counts[row.kind] = counts.get(row.kind, 0) + row.count
        return counts
