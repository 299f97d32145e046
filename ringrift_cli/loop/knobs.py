"""The loop's settings as one typed value, so policies take plain data instead of a Context."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable


@dataclass(frozen=True)
class LoopSettings:
    configs: tuple[str, ...]
    halted: bool
    halt_reason: str
    selfplay_backlog: int
    selfplay_games: int
    min_games: int
    stale_best_seconds: float
    export_min_games: int
    export_max_age_seconds: float
    train_min_samples: int
    queued_soft: int
    queued_hard: int
    unexported_soft: int
    unexported_hard: int
    untrained_soft: int
    untrained_hard: int
    free_gb_soft: float
    free_gb_hard: float
    breaker_failures: int
    breaker_window_seconds: float
    breaker_cooldown_seconds: float
    events_seconds: float
    games_seconds: float
    maintenance_seconds: float
    keep_retired_models: int
    max_deletions: int
    lock_seconds: float


# field -> setting key; a field not listed is "loop.<field>".
SETTING_KEYS = {
    "queued_soft": "backpressure.queued_soft", "queued_hard": "backpressure.queued_hard",
    "unexported_soft": "backpressure.unexported_soft", "unexported_hard": "backpressure.unexported_hard",
    "untrained_soft": "backpressure.untrained_soft", "untrained_hard": "backpressure.untrained_hard",
    "free_gb_soft": "backpressure.free_gb_soft", "free_gb_hard": "backpressure.free_gb_hard",
    "breaker_failures": "breaker.failures", "breaker_window_seconds": "breaker.window_seconds",
    "breaker_cooldown_seconds": "breaker.cooldown_seconds",
    "events_seconds": "retention.events_seconds", "games_seconds": "retention.games_seconds",
    "maintenance_seconds": "retention.maintenance_seconds", "keep_retired_models": "retention.keep_retired_models",
    "max_deletions": "retention.max_deletions",
}


def loop_settings(setting: Callable[[str], Any]) -> LoopSettings:
    """Build from a lookup of effective settings (``Context.setting``, or ``default_of`` in tests)."""
    values = {}
    for field in fields(LoopSettings):
        values[field.name] = setting(SETTING_KEYS.get(field.name, f"loop.{field.name}"))
    values["configs"] = tuple(part for part in values["configs"].split(",") if part)
    return LoopSettings(**values)
