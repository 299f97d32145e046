"""Job parameters of each stage: names, defaults and checks, in one light module.

The stage commands show these defaults in ``--help`` and the handlers apply
them, so both import from here (without the heavy imports of the stages).
A default that is a setting is read from the effective settings when the
job runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from ..settings import coerce, setting_for
from ..store.queue import Job
from .handlers import JobContext


def whole_number(stage: str, name: str, value, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise UserError(f"{stage} {name} must be a whole number >= {minimum}, got {value!r}")
    return value


def check_known(job: Job, known) -> None:
    unknown = set(job.params) - set(known)
    if unknown:
        raise UserError(f"{job.kind} job {job.id}: unknown params {sorted(unknown)}; valid: {sorted(known)}")


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
    procs: int  # search processes ("auto" resolved to the host's usable cores)


SELFPLAY_PARAMS = {  # job param -> setting that supplies its default (None: fixed default)
    "games": None, "model": None, "simulations": "selfplay.simulations", "parallel": "selfplay.parallel_games",
    "seed": None, "temperature_plies": "selfplay.temperature_plies",
    "dirichlet_fraction": "selfplay.dirichlet_fraction", "c_puct": "selfplay.c_puct", "device": None,
    "procs": "selfplay.procs",
}
SELFPLAY_DEFAULTS = {"games": 100, "model": "best", "seed": None, "device": "cpu"}


def selfplay_params(job: Job, jctx: JobContext) -> SelfplayParams:
    check_known(job, SELFPLAY_PARAMS)
    values = {}
    for key, setting in SELFPLAY_PARAMS.items():
        if key in job.params and setting:
            values[key] = coerce(setting_for(setting), job.params[key])  # the setting's type and range
        elif setting:
            values[key] = jctx.context.setting(setting)
        else:
            values[key] = job.params.get(key, SELFPLAY_DEFAULTS[key])
    if values["seed"] is None:
        # Unseeded jobs must not all play the same games: derive the seed from the job's
        # trace id, which a retry of the same job keeps.
        values["seed"] = int(job.trace_id[:15], 16)
    if values["procs"] == "auto":
        from ..ai.search_procs import usable_cores

        values["procs"] = usable_cores()
    params = SelfplayParams(**values)
    whole_number("selfplay", "games", params.games, 1)
    whole_number("selfplay", "seed", params.seed, 0)
    for key in ("model", "device"):
        if not isinstance(getattr(params, key), str):
            raise UserError(f"selfplay {key} must be text, got {getattr(params, key)!r}")
    return params


def export_params(job: Job, jctx: JobContext) -> tuple[int, int]:
    check_known(job, ("max_samples", "min_game_moves"))
    max_samples = job.params.get("max_samples", jctx.context.setting("export.max_samples"))
    min_moves = job.params.get("min_game_moves", jctx.context.setting("export.min_game_moves"))
    return whole_number("export", "max_samples", max_samples, 1), whole_number("export", "min_game_moves", min_moves, 0)


