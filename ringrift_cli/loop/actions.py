"""What a tick can decide to do, each with the reason it gives, and why it waits when it does not."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..keys import STAGES
from ..store.breakers import Breaker

# Later stages first: finishing work in flight beats starting more of it.
STAGE_PRIORITY = {kind: 10 * (index + 1) for index, kind in enumerate(STAGES)}


@dataclass(frozen=True)
class Enqueue:
    kind: str
    config_key: str
    params: dict
    dedup_key: str
    reason: str
    priority: int = 0


@dataclass(frozen=True)
class SetBreaker:
    breaker: Breaker  # the row as it is to be written
    event: str | None  # 'breaker_opened', 'breaker_half_open', 'breaker_closed' on a transition
    reason: str

    @property
    def scope(self) -> str:
        return self.breaker.scope

    @property
    def state(self) -> str:
        return self.breaker.state


@dataclass(frozen=True)
class PruneEvents:
    older_than: float
    reason: str


@dataclass(frozen=True)
class DeleteFile:
    artifact_id: int
    config_key: str
    kind: str
    path: str
    reason: str


@dataclass(frozen=True)
class Optimize:
    reason: str


Action = Enqueue | SetBreaker | PruneEvents | DeleteFile | Optimize


@dataclass(frozen=True)
class Wait:
    """Why a stage of a config gets no new job this tick (shown by `loop status`)."""

    config_key: str | None
    stage: str
    reason: str


@dataclass(frozen=True)
class Pressure:
    level: str  # 'none', 'soft' or 'hard'
    reasons: tuple[str, ...] = ()


@dataclass
class Decision:
    actions: list = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    pressure: Pressure = Pressure("none")


def describe(action) -> dict:
    """An action as plain JSON (for the ticks table, --json and --dry-run)."""
    fields = asdict(action)
    if isinstance(action, SetBreaker):
        fields = {**fields.pop("breaker"), **fields}  # flat: scope, state, failures, ... then the reason
    return {"action": type(action).__name__.lower(), **fields}
