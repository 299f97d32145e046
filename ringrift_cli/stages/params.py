"""The params a stage runs with, read from its job through the kind's schema (``param_schema``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.queue import Job
from .handlers import JobContext
from .param_schema import resolve_params


@dataclass(frozen=True)
class SelfplayParams:
    games: int
    model: str
    simulations: int
    parallel: int
    seed: int
    temperature_plies: int
    dirichlet_fraction: float
    c_puct: float
    device: str


@dataclass(frozen=True)
class ExportParams:
    max_samples: int
    min_game_moves: int


def selfplay_params(job: Job, jctx: JobContext) -> SelfplayParams:
    values = resolve_params("selfplay", job.params, jctx.context.setting)
    if values["seed"] is None:
        # Unseeded jobs must not all play the same games: derive the seed from the job's
        # trace id, which a retry of the same job keeps.
        values["seed"] = int(job.trace_id[:15], 16)
    return SelfplayParams(**values)


def export_params(job: Job, jctx: JobContext) -> ExportParams:
    return ExportParams(**resolve_params("export", job.params, jctx.context.setting))
