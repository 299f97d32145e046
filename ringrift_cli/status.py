"""Everything ``ringrift status`` shows, collected in one read."""

from __future__ import annotations

from dataclasses import dataclass, field

from .context import Context
from .loop.tick import TickReport, run_tick
from .keys import CONFIG_KEYS, STAGES
from .settings import EffectiveSetting
from .store.breakers import Breaker, list_breakers
from .store.db import now
from .store.events import Event, recent_events
from .store.queue import STATUSES, Job
from .store.status import DataRow, HostStatus, claimed_jobs, data_by_config, dead_jobs, host_status, queue_depth


@dataclass
class Status:
    home: str
    taken_at: float
    depth: dict[str, dict[str, int]]  # kind -> status -> count, every stage and status present
    claimed: list[Job]
    dead: list[Job]
    breakers: list[Breaker]
    events: list[Event]
    data: list[DataRow] = field(default_factory=list)
    changed_settings: list[EffectiveSetting] = field(default_factory=list)
    loop: TickReport | None = None  # what a tick would do now, and why each stage waits
    best_models: list[BestModel] = field(default_factory=list)
    hosts: list[HostStatus] = field(default_factory=list)


@dataclass(frozen=True)
class BestModel:
    config_key: str
    model_id: str
    elo: float | None
    low: float | None
    high: float | None
    games: int


def best_models(ctx: Context, config_keys: tuple[str, ...] = CONFIG_KEYS) -> list[BestModel]:
    """The best model of each of ``config_keys`` that has one, with its Elo from the config's matches."""
    from .elo import config_ratings
    from .store.models import best_model

    rows = []
    for config_key in config_keys:
        model = best_model(ctx.store, config_key)
        if model is None:
            continue
        rating = config_ratings(ctx.store, config_key).get(model.id)
        rows.append(BestModel(config_key, model.id, *((rating.elo, rating.low, rating.high, rating.games)
                                                     if rating else (None, None, None, 0))))
    return rows


def collect_status(ctx: Context) -> Status:
    depth = {kind: dict.fromkeys(STATUSES, 0) for kind in STAGES}
    for row in queue_depth(ctx.store):
        depth.setdefault(row.kind, dict.fromkeys(STATUSES, 0))[row.status] = row.count
    taken_at = now()
    return Status(
        home=str(ctx.home.root.resolve()),
        taken_at=taken_at,
        depth=depth,
        claimed=claimed_jobs(ctx.store),
        dead=dead_jobs(ctx.store, limit=20),
        breakers=list_breakers(ctx.store),
        events=recent_events(ctx.store, limit=ctx.setting("status.event_rows")),
        data=data_by_config(ctx.store),
        changed_settings=[e for e in ctx.effective_settings if e.source != "default"],
        loop=run_tick(ctx, taken_at, dry_run=True),
        best_models=best_models(ctx),
        hosts=host_status(ctx.store),
    )
