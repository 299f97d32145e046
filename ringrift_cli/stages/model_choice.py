"""Turning a player/model name from the command line into an evaluator.

``none`` (or ``heuristic``) means the hand-written heuristic, ``random``
uniform priors and even values; ``best`` the config's promoted model (the
heuristic until one exists: that is how the loop bootstraps);
anything else a model id (or unique prefix) from the registry, or a path to
a model file. A registered model whose file does not match its sha256, or
whose encoder version differs from ours, is refused.
"""

from __future__ import annotations

from pathlib import Path

from ..context import Context
from ..errors import UserError
from ..files import sha256_of
from ..store.artifacts import get_artifact
from ..store.models import best_model, get_model


def load_evaluator(ctx: Context, config_key: str, spec: str, device: str = "cpu"):
    """Return (evaluator, name recorded in game records)."""
    from ..ai.evaluators import HeuristicEvaluator, RandomEvaluator

    if spec in ("none", "heuristic"):
        return HeuristicEvaluator(), "heuristic"
    if spec == "random":
        return RandomEvaluator(), "random"
    if spec == "best":
        model = best_model(ctx.store, config_key)
        if model is None:
            return HeuristicEvaluator(), "heuristic"
        return net_evaluator(registered_model_path(ctx, model.id), config_key, device), model.id
    path = Path(spec)
    if path.is_file():
        return net_evaluator(path, config_key, device), sha256_of(path)
    model = get_model(ctx.store, spec)
    if model is None:
        raise UserError(f"no model {spec!r}: give best, none (heuristic), random, a model id (or unique prefix) "
                        "or a model file")
    return net_evaluator(registered_model_path(ctx, model.id), config_key, device), model.id


def describe_choice(ctx: Context, config_key: str, spec: str) -> str:
    """What ``spec`` will search with, in words (so `best` before a first model says so)."""
    if spec in ("none", "heuristic"):
        return "the heuristic evaluator"
    if spec == "random":
        return "the random evaluator (uniform priors, even values)"
    if spec == "best":
        model = best_model(ctx.store, config_key)
        if model is None:
            return f"the heuristic evaluator (no best model for {config_key} yet)"
        return f"the best model {model.id[:12]}"
    return f"model {spec}"


def registered_model_path(ctx: Context, model_id: str) -> Path:
    model = get_model(ctx.store, model_id)
    artifact = get_artifact(ctx.store, model.artifact_id)
    path = ctx.home.root / artifact.path
    if not path.is_file():
        raise UserError(f"model {model_id[:12]} is registered at {path}, which does not exist")
    if sha256_of(path) != artifact.sha256:
        raise UserError(f"model file {path} does not match its registered sha256; refusing to use it")
    return path


def net_evaluator(path: Path, config_key: str, device: str):
    from ..ai.evaluators import NetEvaluator
    from ..ai.net import ModelFileError, load_model

    try:
        net, _ = load_model(path, config_key=config_key, device=device)
    except ModelFileError as exc:
        raise UserError(str(exc)) from None
    return NetEvaluator(net, config_key, device)
