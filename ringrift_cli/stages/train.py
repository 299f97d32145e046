"""The train stage: the newest samples of a config -> a candidate model, registered with its lineage.

plan (controller): the NPZ shards of the window (each checked against its sha256) and the parent
(the best model unless ``from`` says otherwise), named with their sha256 in the run's spec, with
the hyperparameters resolved. run (anywhere, files only): the training loop, checkpointing after
every epoch under ``runs/<job>/``, so the next run of a killed job resumes there; the model file is
written whole as ``runs/<job>/model.pt``. publish (controller): the model moves to
``models/<config>/`` named by its content, and one transaction registers it (artifact, lineage,
``models`` row, ``model_trained``) under the job's fence. A half-written model is never registered.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path

from ..errors import UserError
from ..files import sha256_of
from ..runner.spec import InputFile, RunSpec, input_path
from ..runner.status import OutputFile, RunStatus
from ..store.artifacts import get_artifact, register_artifact_in, unquarantined_artifacts
from ..store.events import append_event
from ..store.models import Model, best_model, find_model, register_model_in
from ..store.queue import Job, check_held_in
from ..verify import verified_file
from .handlers import JobContext
from .params import TrainParams, train_params
from .model_choice import registered_model_path


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


def train_handler(job: Job, jctx: JobContext) -> dict:
    spec = plan_train(jctx.context, job)
    status = run_train(spec, jctx.home.root, jctx.progress, jctx.lease_lost)
    return publish_train(jctx.context, job, jctx.worker, spec, status)


def plan_train(context, job: Job) -> RunSpec:
    """The window's shards (each verified: one that fails is quarantined and this job fails, naming
    it), the parent model, and every hyperparameter resolved."""
    params = train_params(job.params, context.setting, job)
    window, by_id = choose_shards(context, job.config_key, params)
    for source in window:
        verified_file(context, by_id[source.artifact_id])
    parent = parent_of(context, job.config_key, params)
    inputs = [InputFile("npz", by_id[s.artifact_id].path, by_id[s.artifact_id].sha256) for s in window]
    if parent is not None:
        registered_model_path(context, parent.id)  # refuses a missing or tampered file, by name
        artifact = get_artifact(context.store, parent.artifact_id)
        inputs.append(InputFile("parent", artifact.path, artifact.sha256))
    settings = train_settings(context.setting, params)
    values = {"parent_id": parent.id if parent else None, "preset": params.preset, "default_preset": context.setting("train.preset"),
              "settings": asdict(settings), "data_workers": params.data_workers,
              "window": [{"artifact_id": s.artifact_id, "path": by_id[s.artifact_id].path, "samples": s.samples,
                          "take": s.take} for s in window]}
    return RunSpec(job.id, job.claim_seq, "train", job.config_key, values, tuple(inputs))


def run_train(spec: RunSpec, root: Path, progress, stop: threading.Event) -> RunStatus:
    """Train from the spec's files alone and leave ``runs/<job>/model.pt``; return the run's status."""
    import torch

    from ..ai.encoding import encoder_for
    from ..ai.net import ModelFileError, load_model, new_net, save_model
    from ..train.dataset import ShardSource, exact_symmetries
    from ..ai.search_procs import usable_cores
    from ..train.loader import default_workers
    from ..train.loop import TrainSettings, resolve_device, train_network

    params = spec.params
    settings = TrainSettings(**params["settings"])
    paths = {item.path: input_path(root, item) for item in spec.inputs if item.role == "npz"}
    shards = [ShardSource(w["artifact_id"], paths[w["path"]], w["samples"], w["take"]) for w in params["window"]]
    parent = spec.input("parent")
    torch.manual_seed(settings.seed)
    if parent is not None:
        try:
            net, info = load_model(input_path(root, parent), config_key=spec.config_key)
        except ModelFileError as exc:
            raise UserError(f"cannot warm-start from model {parent.sha256[:12]}: {exc}") from None
        if params["preset"] not in (None, info.preset):
            raise UserError(f"the parent model {parent.sha256[:12]} is a {info.preset} network; give --from scratch "
                            f"to train a {params['preset']} one")
    else:
        net, info = new_net(spec.config_key, params["preset"] or params["default_preset"])
    encoder = encoder_for(spec.config_key)
    run_dir = root / spec.run_dir

    def check() -> None:
        if stop.is_set():
            raise UserError(f"train job {spec.job_id} lost its claim; stopping (the last checkpoint is kept)")

    workers = params.get("data_workers", "auto")
    if workers == "auto":
        workers = default_workers(resolve_device(settings.device), usable_cores())
    outcome = train_network(net, shards, settings, encoder_version=encoder.version,
                            policy_size=encoder.policy_size, symmetries=exact_symmetries(spec.config_key),
                            checkpoint=run_dir / "checkpoint.pt", data_workers=workers, progress=progress, check=check)
    shas = {item.path: item.sha256 for item in spec.inputs}
    lineage = {
        "parent_id": params["parent_id"], "job_id": spec.job_id, "seed": settings.seed,
        "shards": [{"artifact_id": s.artifact_id, "path": w["path"], "sha256": shas[w["path"]], "samples": s.samples,
                    "used": s.take} for s, w in zip(shards, params["window"])],
        "samples": sum(s.take for s in shards), "hyperparameters": {**asdict(settings), "preset": info.preset},
        "encoder_version": encoder.version, "epochs_run": outcome.epochs_run, "stopped_early": outcome.stopped_early,
    }
    info.lineage = {**lineage, "metrics": outcome.metrics}
    model = run_dir / "model.pt"
    save_model(model, net, info)  # whole and fsynced, or not there at all
    metrics = {key: value for key, value in outcome.metrics.items() if isinstance(value, (int, float))}
    result = {"lineage": lineage, "metrics": metrics, "preset": info.preset, "epochs": outcome.epochs_run,
              "resumed_from_epoch": outcome.resumed_from_epoch, "stopped_early": outcome.stopped_early}
    output = OutputFile(f"{spec.run_dir}/model.pt", sha256_of(model), model.stat().st_size)
    return RunStatus(spec.job_id, spec.claim_seq, "done", time.time(), settings.epochs, settings.epochs, "",
                     (output,), result)


def train_settings(setting, params: TrainParams):
    from ..train.loop import TrainSettings

    return TrainSettings(
        epochs=params.epochs, batch_size=params.batch_size, lr=params.lr, weight_decay=setting("train.weight_decay"),
        warmup_fraction=setting("train.warmup_fraction"), grad_clip=setting("train.grad_clip"),
        policy_weight=setting("train.policy_weight"), value_weight=setting("train.value_weight"),
        patience=setting("train.patience"), val_fraction=setting("train.val_fraction"), seed=params.seed,
        device=params.device)


def publish_train(context, job: Job, worker: str, spec: RunSpec, status: RunStatus, *, host: str = "local") -> dict:
    """Move the model to ``models/<config>/<sha256 prefix>.pt`` and register it with its lineage."""
    from ..runner.publish import settle_output

    (output,) = status.outputs
    result = status.result
    relative = f"models/{job.config_key}/{output.sha256[:16]}.pt"
    settle_output(context.home.root, output, relative)
    lineage = result["lineage"]
    metrics = result["metrics"]
    with context.store.write() as db:
        check_held_in(db, job.id, worker, job.claim_seq)
        artifact, _ = register_artifact_in(
            db, kind="model", config_key=job.config_key, path=relative, sha256=output.sha256, size=output.bytes,
            meta={"preset": result["preset"]}, job_id=job.id, host=host,
            inputs=tuple(s["artifact_id"] for s in lineage["shards"]))
        model, created = register_model_in(
            db, model_id=output.sha256, config_key=job.config_key, artifact_id=artifact.id,
            parent_id=lineage["parent_id"], metrics=metrics, lineage=lineage,
            encoder_version=lineage["encoder_version"], job_id=job.id)
        if created:
            append_event(db, "model_trained", {"model_id": model.id, "path": relative, "parent_id": model.parent_id,
                                               "samples": lineage["samples"], "metrics": metrics},
                         config_key=job.config_key, job_id=job.id, dedup_key=f"model_trained:{model.id}")
    return {"model_id": model.id, "path": relative, "samples": lineage["samples"], "epochs": result["epochs"],
            "resumed_from_epoch": result["resumed_from_epoch"], "stopped_early": result["stopped_early"],
            "parent_id": model.parent_id, "metrics": metrics}
