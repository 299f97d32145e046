"""The train stage: the newest samples of a config -> a candidate model, registered with its lineage.

plan: the NPZ shards of the window (each checked against its sha256) and
the parent (the best model unless ``from`` says otherwise). run: the
training loop, checkpointing after every epoch under ``runs/<job>/``, so the
next claim of a killed job resumes there. publish: the model file, named by
its content, is written whole and renamed before one transaction registers
it (artifact, lineage, ``models`` row, ``model_trained``) under the job's
fence. A half-written model is never registered.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError
from ..files import fsync_dir, sha256_of
from ..store.artifacts import Artifact, register_artifact_in, unquarantined_artifacts
from ..store.events import append_event
from ..store.models import Model, best_model, find_model, register_model_in
from ..store.queue import Job, check_held_in
from ..verify import verified_file
from .handlers import JobContext
from .params import TrainParams, train_params
from .model_choice import registered_model_path


@dataclass(frozen=True)
class TrainPlan:
    shards: list  # ShardSource, newest first
    shard_artifacts: list[Artifact]
    parent: Model | None
    parent_path: Path | None


def check_train_inputs(context, config_key: str, raw: dict) -> None:
    """What the CLI checks before it enqueues: the params, that samples exist, that the parent resolves."""
    params = train_params(raw, context.setting)
    parent = parent_of(context, config_key, params)
    if parent is not None:
        registered_model_path(context, parent.id)  # refuses a missing or tampered file, by name
    choose_shards(context, config_key, params)


def choose_shards(context, config_key: str, params: TrainParams):
    from ..ai.encoding import ENCODER_VERSION
    from ..train.dataset import choose_window

    artifacts = [a for a in unquarantined_artifacts(context.store, config_key, "npz")
                 if a.meta.get("encoder_version") == ENCODER_VERSION]
    window = choose_window([(a.id, context.home.root / a.path, int(a.meta.get("samples", 0))) for a in artifacts],
                           params.max_samples)
    if not window:
        raise UserError(f"no training samples for {config_key}: run `ringrift selfplay` and `ringrift export` first")
    return window, {a.id: a for a in artifacts}


def parent_of(context, config_key: str, params: TrainParams) -> Model | None:
    if params.source == "best":
        return best_model(context.store, config_key)
    if params.source == "scratch":
        return None
    return find_model(context.store, params.source, config_key)


def plan_training(jctx: JobContext, config_key: str, params: TrainParams) -> TrainPlan:
    window, by_id = choose_shards(jctx.context, config_key, params)
    for source in window:
        # A shard that fails its sha256 is quarantined (the next training leaves it out) and
        # this one fails, naming it.
        verified_file(jctx.context, by_id[source.artifact_id])
    parent = parent_of(jctx.context, config_key, params)
    parent_path = registered_model_path(jctx.context, parent.id) if parent else None
    return TrainPlan(window, [by_id[s.artifact_id] for s in window], parent, parent_path)


def train_handler(job: Job, jctx: JobContext) -> dict:
    import torch

    from ..ai.encoding import encoder_for
    from ..ai.net import ModelFileError, load_model, new_net
    from ..train.dataset import exact_symmetries
    from ..train.loop import train_network

    params = train_params(job.params, jctx.context.setting, job)
    plan = plan_training(jctx, job.config_key, params)
    torch.manual_seed(params.seed)
    if plan.parent_path is not None:
        try:
            net, info = load_model(plan.parent_path, config_key=job.config_key)
        except ModelFileError as exc:
            raise UserError(f"cannot warm-start from model {plan.parent.id[:12]}: {exc}") from None
        if params.preset not in (None, info.preset):
            raise UserError(f"the parent model {plan.parent.id[:12]} is a {info.preset} network; give --from scratch "
                            f"to train a {params.preset} one")
    else:
        net, info = new_net(job.config_key, params.preset or jctx.context.setting("train.preset"))
    settings = train_settings(jctx, params)
    encoder = encoder_for(job.config_key)
    run_dir = jctx.home.data_dir("runs") / str(job.id)

    def check() -> None:
        if jctx.lease_lost.is_set():
            raise UserError(f"train job {job.id} lost its claim; stopping (the last checkpoint is kept)")

    outcome = train_network(net, plan.shards, settings, encoder_version=encoder.version,
                            policy_size=encoder.policy_size, symmetries=exact_symmetries(job.config_key),
                            checkpoint=run_dir / "checkpoint.pt", progress=jctx.progress, check=check)
    lineage = {
        "parent_id": plan.parent.id if plan.parent else None, "job_id": job.id, "seed": params.seed,
        "shards": [{"artifact_id": s.artifact_id, "path": a.path, "sha256": a.sha256, "samples": s.samples,
                    "used": s.take} for s, a in zip(plan.shards, plan.shard_artifacts)],
        "samples": sum(s.take for s in plan.shards), "hyperparameters": {**asdict(settings), "preset": info.preset},
        "encoder_version": encoder.version, "epochs_run": outcome.epochs_run, "stopped_early": outcome.stopped_early,
    }
    info.lineage = {**lineage, "metrics": outcome.metrics}
    return publish_model(jctx, job, net, info, lineage, outcome)


def train_settings(jctx: JobContext, params: TrainParams):
    from ..train.loop import TrainSettings

    setting = jctx.context.setting
    return TrainSettings(
        epochs=params.epochs, batch_size=params.batch_size, lr=params.lr, weight_decay=setting("train.weight_decay"),
        warmup_fraction=setting("train.warmup_fraction"), grad_clip=setting("train.grad_clip"),
        policy_weight=setting("train.policy_weight"), value_weight=setting("train.value_weight"),
        patience=setting("train.patience"), val_fraction=setting("train.val_fraction"), seed=params.seed,
        device=params.device)


def publish_model(jctx: JobContext, job: Job, net, info, lineage: dict, outcome) -> dict:
    from ..ai.net import save_model

    staged = jctx.home.data_dir("runs") / str(job.id) / "model.pt"
    save_model(staged, net, info)  # whole and fsynced, or not there at all
    digest = sha256_of(staged)
    final = jctx.home.data_dir("models") / job.config_key / f"{digest[:16]}.pt"
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)
    fsync_dir(final.parent)
    relative = str(final.relative_to(jctx.home.root))
    metrics = {key: value for key, value in outcome.metrics.items() if isinstance(value, (int, float))}
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        artifact, _ = register_artifact_in(
            db, kind="model", config_key=job.config_key, path=relative, sha256=digest, size=final.stat().st_size,
            meta={"preset": info.preset}, job_id=job.id, inputs=tuple(s["artifact_id"] for s in lineage["shards"]))
        model, created = register_model_in(
            db, model_id=digest, config_key=job.config_key, artifact_id=artifact.id, parent_id=lineage["parent_id"],
            metrics=metrics, lineage=lineage, encoder_version=lineage["encoder_version"], job_id=job.id)
        if created:
            append_event(db, "model_trained", {"model_id": model.id, "path": relative, "parent_id": model.parent_id,
                                               "samples": lineage["samples"], "metrics": metrics},
                         config_key=job.config_key, job_id=job.id, dedup_key=f"model_trained:{model.id}")
    return {"model_id": model.id, "path": relative, "samples": lineage["samples"], "epochs": outcome.epochs_run,
            "resumed_from_epoch": outcome.resumed_from_epoch, "stopped_early": outcome.stopped_early,
            "parent_id": model.parent_id, "metrics": metrics}
