"""The params a stage runs with, read from its job through the kind's schema (``param_schema``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.queue import Job
from .param_schema import resolve_params


@dataclass(frozen=True)
class SelfplayParams:
    games: int
    model: str
    sims: int
    parallel: int
    seed: int
    temperature_plies: int
    dirichlet_fraction: float
    c_puct: float
    device: str
    procs: int  # search processes ("auto" resolved to the host's usable cores)


@dataclass(frozen=True)
class ExportParams:
    max_samples: int
    min_game_moves: int


def export_params(params: dict, setting) -> ExportParams:
    return ExportParams(**resolve_params("export", params, setting))


def job_values(kind: str, params: dict, setting, job: Job | None) -> dict:
    """The resolved params of a job of ``kind``. With ``job``, an unset seed is derived from its
    trace id: unseeded jobs must not all play the same games, and a retry keeps the trace id.
    Without (the CLI's check before enqueueing) it stays None."""
    values = resolve_params(kind, params, setting)
    if job is not None and values["seed"] is None:
        values["seed"] = int(job.trace_id[:15], 16)
    return values


def with_procs_resolved(values: dict) -> dict:
    """``values`` with ``procs: auto`` turned into this host's usable cores (only the host that runs
    the games can say how many it has)."""
    if values.get("procs") == "auto":
        from ..ai.search_procs import usable_cores

        values = {**values, "procs": usable_cores()}
    return values


@dataclass(frozen=True)
class TrainParams:
    source: str  # best, scratch or a model id
    preset: str | None  # None: the parent's (or setting train.preset from scratch)
    epochs: int
    batch_size: int
    lr: float
    max_samples: int
    device: str
    data_workers: int | str  # "auto": the host that runs the job decides (loader.default_workers)
    seed: int | None


def train_params(params: dict, setting, job: Job | None = None) -> TrainParams:
    values = job_values("train", params, setting, job)
    values["source"] = values.pop("from")
    return TrainParams(**values)


@dataclass(frozen=True)
class EvalParams:
    model: str  # candidate or a model id
    opponents: tuple[str, ...]  # random, heuristic, best or model ids
    games: int  # per opponent
    sims: int
    parallel: int
    procs: int  # search processes ("auto" resolved to the host's usable cores)
    device: str
    seed: int | None


def eval_params(params: dict, setting, job: Job | None = None) -> EvalParams:
    values = with_procs_resolved(job_values("eval", params, setting, job))
    values["opponents"] = tuple(dict.fromkeys(values["opponents"].split(",")))
    return EvalParams(**values)


@dataclass(frozen=True)
class PromoteParams:
    model: str
    sims: int
    parallel: int
    procs: int  # as in EvalParams
    device: str
    seed: int | None


def promote_params(params: dict, setting, job: Job | None = None) -> PromoteParams:
    return PromoteParams(**with_procs_resolved(job_values("promote", params, setting, job)))
