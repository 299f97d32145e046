"""The export stage: turn games not yet exported into validated NPZ training shards.

plan (controller): the registered games shards of the config that no NPZ lists as an input, each
named with its sha256 (one whose file is missing or changed is set aside here), and every setting
the samples depend on. run (anywhere, files only): each shard is checked against its sha256 and
every game replayed through the engine; a shard that fails either is set aside (training on a game
the engine disagrees with would poison the model, and one bad shard must not stop the loop). Each
position becomes a sample (``export_samples``); the NPZ shards are written under ``runs/<job>/``,
read back and validated. publish (controller): the shards move to ``npz/<config>/`` and one
transaction, under the job's fence, sets aside the refused games shards (``artifact_flagged``) and
registers each NPZ with its inputs (``npz_exported``), which marks those games exported. A second
export with no new games does nothing.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import UserError
from ..files import atomic_path, sha256_of
from ..runner.spec import InputFile, RunSpec
from ..runner.status import OutputFile, RunStatus
from ..store.artifacts import (artifacts_not_yet_used, flag_artifact_in, get_artifact, list_artifacts,
                               register_artifact_in, still_pending_in)
from ..store.db import now
from ..store.events import append_event
from ..store.queue import Job, check_held_in
from .export_samples import GamesInput, SampleBuffer, SampleTargets, SetAside, add_game_samples, readable_games, \
    shard_arrays
from .handlers import JobContext
from .params import export_params

FLAGS = ("quarantined", "other_encoder", "no_samples")
CHANGED = "missing or does not match its registered sha256"


def export_handler(job: Job, jctx: JobContext) -> dict:
    spec = plan_export(jctx.context, job)
    status = run_export(spec, jctx.home.root, jctx.progress, jctx.lease_lost)
    return publish_export(jctx.context, job, jctx.worker, spec, status)


def plan_export(context, job: Job) -> RunSpec:
    """The pending games shards (those whose file no longer matches are set aside at publish) and
    the settings the samples depend on, resolved."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for
    from ..verify import artifact_problem

    params = export_params(job.params, context.setting)
    remove_orphan_shards(context, job, now())
    shards, inputs, flagged = [], [], []
    for artifact in artifacts_not_yet_used(context.store, job.config_key, "games", by_kind="npz"):
        if artifact_problem(context.home.root, artifact) is not None:
            flagged.append({"artifact_id": artifact.id, "flag": "quarantined", "reason": CHANGED})
            continue
        shards.append({"artifact_id": artifact.id, "path": artifact.path})
        inputs.append(InputFile("games", artifact.path, artifact.sha256))
    values = {"max_samples": params.max_samples, "min_game_moves": params.min_game_moves,
              "forced_policy_weight": context.setting("export.forced_policy_weight"),
              "value_blend": context.setting("export.value_blend"),
              "max_shard_bytes": context.setting("export.max_shard_mb") * 2**20,
              "encoder_version": ENCODER_VERSION, "policy_size": encoder_for(job.config_key).policy_size,
              "shards": shards}
    return RunSpec(job.id, job.claim_seq, "export", job.config_key, values, tuple(inputs), {"set_aside": flagged})


def run_export(spec: RunSpec, root: Path, progress, stop: threading.Event) -> RunStatus:
    """Read the spec's games shards alone and leave the NPZ shards under ``runs/<job>/``."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    params = spec.params
    encoding = encoder_for(spec.config_key)
    if (params["encoder_version"], params["policy_size"]) != (ENCODER_VERSION, encoding.policy_size):
        raise UserError(f"export job {spec.job_id} was planned for encoder {params['encoder_version']}; "
                        f"this ringrift encodes with {ENCODER_VERSION}")
    run_dir = root / spec.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    for old in run_dir.glob("export-job*.npz*"):  # an earlier claim's shards: this run writes its own
        old.unlink()
    shas = {item.path: item.sha256 for item in spec.inputs}
    shards = [GamesInput(s["artifact_id"], root / s["path"], shas[s["path"]]) for s in params["shards"]]
    targets = SampleTargets(params["forced_policy_weight"], params["value_blend"])
    # The features dominate a shard's memory (60 kB a sample on the 25x25 board).
    sample_bytes = 4 * encoding.planes * encoding.height * encoding.width
    written: list[tuple[Path, dict]] = []
    buffer, inputs, used, flagged = SampleBuffer(), [], [], []

    def write() -> None:
        written.append(write_npz(spec, run_dir, buffer, len(written), inputs))

    for number, shard in enumerate(shards):
        progress(number, len(shards), shard.path.name)
        if stop.is_set():
            raise UserError(f"export job {spec.job_id} lost its claim; stopping")
        games = readable_games(shard, spec.config_key, ENCODER_VERSION, flagged)
        if games is None:
            continue
        min_moves = params["min_game_moves"]
        exportable = [g for g in games if g.status == "completed" and len(g.moves) >= min_moves]
        if not exportable:
            flagged.append(SetAside(shard.artifact_id, "no_samples", f"no completed game of {min_moves} moves or more"))
            continue
        used.append(shard.artifact_id)
        inputs.append(shard.artifact_id)
        for game in exportable:
            # Shards end at game boundaries; only a single game longer than a cap exceeds it.
            if len(buffer) and (len(buffer) + len(game.moves) > params["max_samples"]
                                or (len(buffer) + len(game.moves)) * sample_bytes > params["max_shard_bytes"]):
                write()
                buffer, inputs = SampleBuffer(), [shard.artifact_id]
            add_game_samples(buffer, shard.artifact_id, game, targets)
    if len(buffer):
        write()
    progress(len(shards), len(shards), "written")
    outputs = tuple(OutputFile(f"{spec.run_dir}/{path.name}", sha256_of(path), path.stat().st_size)
                    for path, _ in written)
    result = {"used": used, "set_aside": [asdict(item) for item in flagged],
              "shards": [{"samples": meta["samples"], "games": meta["games"], "inputs": meta["inputs"]}
                         for _, meta in written]}
    return RunStatus(spec.job_id, spec.claim_seq, "done", time.time(), len(shards), len(shards), "", outputs, result)


def write_npz(spec: RunSpec, run_dir: Path, buffer: SampleBuffer, number: int,
              inputs: list[int]) -> tuple[Path, dict]:
    """Write, read back and validate, then rename one shard; return (path, what publish registers).

    Empties ``buffer`` once its arrays are built, so a shard is held in memory about twice
    (lists, then arrays) rather than three times (plus the read-back).
    """
    from ..ai.samples import SampleShard, read_shard, write_shard

    params = spec.params
    path = run_dir / f"export-job{spec.job_id}-{number:03d}.npz"
    games = {str(k): v for k, v in buffer.games.items()}
    meta = npz_meta(spec.config_key, params["encoder_version"], params["policy_size"], games, len(buffer),
                    spec.job_id)
    arrays = shard_arrays(buffer)
    buffer.__init__()
    with atomic_path(path) as tmp:
        write_shard(tmp, SampleShard(arrays, meta))
        del arrays
        read_shard(tmp, encoder_version=params["encoder_version"], policy_size=params["policy_size"])
    return path, {"samples": meta["samples"], "games": games, "inputs": list(dict.fromkeys(inputs))}


def npz_meta(config_key: str, encoder_version: int, policy_size: int, games: dict, samples: int, job_id: int) -> dict:
    """What an NPZ shard says of itself, in the file and in its registration alike."""
    return {"config_key": config_key, "encoder_version": encoder_version, "policy_size": policy_size,
            "games": games, "samples": samples, "job_id": job_id}


def remove_orphan_shards(context, job: Job, at: float) -> None:
    """Delete NPZ files a publish left unregistered when it was killed between moving and
    registering them: their games are still pending and would be exported twice. A file of an
    export that may still be running (claimed, lease not over) is left to it."""
    import re

    from ..store.artifacts import list_artifacts
    from ..store.queue import JobNotFound, get_job

    folder = context.home.data_dir("npz") / job.config_key
    registered = {a.path for a in list_artifacts(context.store, job.config_key, "npz")}
    for path in sorted(folder.glob("export-job*.npz*")) if folder.is_dir() else []:
        owner = re.match(r"export-job(\d+)-\d+\.npz(\.tmp)?$", path.name)
        if owner is None or str(path.relative_to(context.home.root)) in registered:
            continue
        if int(owner.group(1)) != job.id:
            try:
                other = get_job(context.store, int(owner.group(1)))
                if other.status == "claimed" and (other.lease_until or 0) > at:
                    continue
            except JobNotFound:
                pass
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class NpzShard:
    output: OutputFile
    samples: int
    games: dict  # artifact id (text) -> [first game id, last game id, count]
    inputs: tuple[int, ...]


@dataclass(frozen=True)
class ExportOutcome:
    used: tuple[int, ...]
    set_aside: tuple[SetAside, ...]
    shards: tuple[NpzShard, ...]


def export_outcome(spec: RunSpec, status: RunStatus) -> ExportOutcome:
    """The run's result (which a host wrote: untrusted), checked against the plan: every games shard it
    names was planned, every NPZ it describes is one of its outputs. OutputRefused otherwise."""
    from ..runner.publish import OutputRefused

    planned = {s["artifact_id"] for s in spec.params["shards"]}
    result = status.result

    def ids(values, what: str) -> tuple[int, ...]:
        if not isinstance(values, list) or any(type(v) is not int or v not in planned for v in values):
            raise OutputRefused(f"export job {spec.job_id}: {what} names games shards it was not given")
        return tuple(values)

    try:
        used = ids(result["used"], "used")
        set_aside = tuple(SetAside(item["artifact_id"], item["flag"], str(item["reason"])[:300])
                          for item in result["set_aside"])
        ids([item.artifact_id for item in set_aside], "set_aside")
        if any(item.flag not in FLAGS for item in set_aside):
            raise OutputRefused(f"export job {spec.job_id}: a games shard set aside with an unknown flag")
        described = result["shards"]
        if not isinstance(described, list) or len(described) != len(status.outputs):
            raise OutputRefused(f"export job {spec.job_id}: {len(status.outputs)} outputs, "
                                f"{len(described) if isinstance(described, list) else 'no'} shards described")
        shards = []
        for output, item in zip(status.outputs, described):
            if not re.fullmatch(rf"export-job{spec.job_id}-\d{{3}}\.npz", Path(output.path).name):
                raise OutputRefused(f"export job {spec.job_id}: output {output.path} is not one of its NPZ shards")
            games = item["games"]
            if type(item["samples"]) is not int or item["samples"] < 1 or not isinstance(games, dict) or any(
                    not key.isdigit() or int(key) not in planned or not isinstance(span, list) or len(span) != 3
                    or any(type(v) is not int for v in span) for key, span in games.items()):
                raise OutputRefused(f"export job {spec.job_id}: shard {output.path} is not described by its samples "
                                    "and games")
            shards.append(NpzShard(output, item["samples"], games, ids(item["inputs"], "a shard's inputs")))
    except (KeyError, TypeError, AttributeError) as exc:
        raise OutputRefused(f"export job {spec.job_id}: its result is not an export's ({exc})") from None
    return ExportOutcome(used, set_aside, tuple(shards))


def publish_export(context, job: Job, worker: str, spec: RunSpec, status: RunStatus, *, host: str = "local") -> dict:
    """Move the NPZ shards to ``npz/<config>/`` and register them, with the games shards set aside, in
    one transaction: only while ``worker`` still holds the job, and only if no other export consumed
    the same games meanwhile (then this run's shards are deleted and nothing is registered)."""
    from ..runner.publish import settle_output

    outcome = export_outcome(spec, status)
    planned = [SetAside(**item) for item in (spec.meta or {}).get("set_aside", [])]
    flagged = planned + list(outcome.set_aside)
    root = context.home.root
    settled = [settle_output(root, s.output, f"npz/{job.config_key}/{Path(s.output.path).name}")
               for s in outcome.shards]
    relatives = [str(path.relative_to(root)) for path in settled]
    results = []
    with context.store.write() as db:
        check_held_in(db, job.id, worker, job.claim_seq)
        if not still_pending_in(db, list(outcome.used) + [item.artifact_id for item in flagged], by_kind="npz"):
            mine = {a.path: a for a in list_artifacts(context.store, job.config_key, "npz") if a.job_id == job.id}
            if relatives and all(relative in mine for relative in relatives):  # an earlier publish of this run
                return published_result(outcome, [mine[relative] for relative in relatives])
            for path, relative in zip(settled, relatives):
                if relative not in mine:
                    path.unlink(missing_ok=True)
            return {"shards": [], "games_shards_read": 0, "samples": 0, "set_aside": []}
        for item in flagged:
            flag_artifact_in(db, get_artifact(context.store, item.artifact_id), item.flag, item.reason, job.id)
        for shard, relative in zip(outcome.shards, relatives):
            results.append(register_npz_in(db, job, shard, relative, host))
    return {"shards": results, "games_shards_read": len(outcome.used), "samples": sum(r["samples"] for r in results),
            "set_aside": [{"path": get_artifact(context.store, item.artifact_id).path, "flag": item.flag,
                           "reason": item.reason} for item in flagged]}


def published_result(outcome: ExportOutcome, artifacts) -> dict:
    """The result of a publish that registered these shards already (its job was not completed then)."""
    shards = [{"artifact_id": a.id, "path": a.path, "sha256": a.sha256, "samples": s.samples}
              for a, s in zip(artifacts, outcome.shards)]
    return {"shards": shards, "games_shards_read": len(outcome.used), "samples": sum(s["samples"] for s in shards),
            "set_aside": []}


def register_npz_in(db, job: Job, shard: NpzShard, relative: str, host: str) -> dict:
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    meta = npz_meta(job.config_key, ENCODER_VERSION, encoder_for(job.config_key).policy_size, shard.games,
                    shard.samples, job.id)
    artifact, created = register_artifact_in(
        db, kind="npz", config_key=job.config_key, path=relative, sha256=shard.output.sha256,
        size=shard.output.bytes, meta=meta, job_id=job.id, inputs=shard.inputs, host=host)
    if created:
        append_event(db, "npz_exported",
                     {"artifact_id": artifact.id, "path": relative, "samples": shard.samples,
                      "games": sum(span[2] for span in shard.games.values()), "inputs": list(shard.inputs)},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"npz_exported:{artifact.id}")
    return {"artifact_id": artifact.id, "path": relative, "sha256": shard.output.sha256, "samples": shard.samples}
