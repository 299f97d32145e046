"""Job parameters of train, eval and promote: names, defaults, types and ranges, checked once.

The CLI checks a job's params with these functions before it enqueues (a
mistake exits 2 and changes nothing); the handlers apply the same functions
to the stored params when the job runs. A default that is a setting is read
from the effective settings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UserError
from ..settings import coerce, setting_for

PRESET_NAMES = ("tiny", "small", "medium", "large")
DEFAULT_PRESET = "small"
DEVICES = ("auto", "cpu", "cuda")
BASELINES = ("random", "heuristic")
MAX_OPPONENTS = 16


def check_known(kind: str, raw: dict, known) -> None:
    unknown = set(raw) - set(known)
    if unknown:
        raise UserError(f"{kind}: unknown params {sorted(unknown)}; valid: {sorted(known)}")


def text(kind: str, name: str, value, choices=None, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise UserError(f"{kind} {name} must be non-empty text of at most {max_length} characters, got {value!r}")
    if choices is not None and value not in choices:
        raise UserError(f"{kind} {name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def from_setting(kind: str, name: str, raw: dict, setting: str, settings) -> object:
    """The param if given (checked against the setting's type and range), else the setting's value."""
    if name not in raw:
        return settings(setting)
    try:
        return coerce(setting_for(setting), raw[name])
    except UserError as exc:
        raise UserError(f"{kind} {name}: {exc}") from None


def seed_of(kind: str, raw: dict, trace_id: str | None) -> int:
    seed = raw.get("seed")
    if seed is None:
        # Unseeded jobs must differ: derive the seed from the trace id, which a retry keeps.
        return int((trace_id or "0")[:15], 16)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**62:
        raise UserError(f"{kind} seed must be a whole number in [0, 2^62], got {seed!r}")
    return seed


@dataclass(frozen=True)
class TrainParams:
    source: str  # best, scratch or a model id
    preset: str | None  # None: the parent's (or DEFAULT_PRESET from scratch)
    epochs: int
    batch_size: int
    lr: float
    max_samples: int
    device: str
    seed: int


TRAIN_PARAMS = ("from", "preset", "epochs", "batch_size", "lr", "max_samples", "device", "seed")


def train_params(raw: dict, settings, trace_id: str | None = None) -> TrainParams:
    check_known("train", raw, TRAIN_PARAMS)
    preset = raw.get("preset")
    if preset is not None:
        text("train", "preset", preset, PRESET_NAMES)
    lr = from_setting("train", "lr", raw, "train.lr", settings)
    if not math.isfinite(lr):
        raise UserError(f"train lr must be a finite number, got {lr!r}")
    return TrainParams(
        source=text("train", "from", raw.get("from", "best"), max_length=64), preset=preset,
        epochs=from_setting("train", "epochs", raw, "train.epochs", settings),
        batch_size=from_setting("train", "batch_size", raw, "train.batch_size", settings), lr=lr,
        max_samples=from_setting("train", "max_samples", raw, "train.window_samples", settings),
        device=text("train", "device", raw.get("device", "auto"), DEVICES),
        seed=seed_of("train", raw, trace_id))


@dataclass(frozen=True)
class EvalParams:
    model: str  # candidate or a model id
    opponents: tuple[str, ...]  # random, heuristic, best or model ids
    games: int  # per opponent
    simulations: int
    parallel: int
    opening_plies: int
    device: str
    seed: int


EVAL_PARAMS = ("model", "opponents", "games", "simulations", "parallel", "device", "seed")


def opponent_list(kind: str, value) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names or len(names) > MAX_OPPONENTS:
        raise UserError(f"{kind} opponents must be 1 to {MAX_OPPONENTS} names, got {value!r}")
    cleaned = tuple(dict.fromkeys(text(kind, "opponent", str(name).strip(), max_length=64) for name in names))
    return cleaned


def eval_params(raw: dict, settings, trace_id: str | None = None) -> EvalParams:
    check_known("eval", raw, EVAL_PARAMS)
    return EvalParams(
        model=text("eval", "model", raw.get("model", "candidate"), max_length=64),
        opponents=opponent_list("eval", raw.get("opponents", "random,heuristic,best")),
        games=from_setting("eval", "games", raw, "eval.games", settings),
        simulations=from_setting("eval", "simulations", raw, "eval.simulations", settings),
        parallel=from_setting("eval", "parallel", raw, "eval.parallel_games", settings),
        opening_plies=settings("eval.opening_plies"),
        device=text("eval", "device", raw.get("device", "auto"), DEVICES),
        seed=seed_of("eval", raw, trace_id))


@dataclass(frozen=True)
class PromoteParams:
    model: str  # candidate or a model id
    rollback: bool
    simulations: int
    parallel: int
    device: str
    seed: int


PROMOTE_PARAMS = ("model", "rollback", "simulations", "parallel", "device", "seed")


def promote_params(raw: dict, settings, trace_id: str | None = None) -> PromoteParams:
    check_known("promote", raw, PROMOTE_PARAMS)
    rollback = raw.get("rollback", False)
    if not isinstance(rollback, bool):
        raise UserError(f"promote rollback must be true or false, got {rollback!r}")
    return PromoteParams(
        model=text("promote", "model", raw.get("model", "candidate"), max_length=64), rollback=rollback,
        simulations=from_setting("promote", "simulations", raw, "eval.simulations", settings),
        parallel=from_setting("promote", "parallel", raw, "eval.parallel_games", settings),
        device=text("promote", "device", raw.get("device", "auto"), DEVICES),
        seed=seed_of("promote", raw, trace_id))
