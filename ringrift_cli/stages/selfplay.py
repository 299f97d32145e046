"""The selfplay stage: play N games for a config and record them as one registered shard.

plan (controller): the params resolved and the model chosen, named by its file's sha256.
run (anywhere, files only): the games are committed one by one to
``runs/<job>/selfplay-job<ID>.db.tmp``, so a killed run resumes where it stopped; the finished
shard is renamed and hashed. publish (controller): the shard moves to ``games/<config>/`` and is
registered (with one ``games_recorded`` event) under the job's fence. With several search processes
(``procs``) the run stays the shard's only writer: the children send each finished game to it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..files import exclusive_lock, fsync_dir, sha256_of
from ..runner.spec import InputFile, RunSpec, input_path
from ..runner.status import OutputFile, RunStatus
from ..store.artifacts import get_artifact, register_artifact_in
from ..store.db import now
from ..store.events import append_event
from ..store.game_records import count_games, finish_shard, open_shard, recorded_indices, shard_meta, write_game
from ..store.models import best_model, get_model
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .model_choice import describe_choice, registered_model_path
from .params import SelfplayParams, job_values, with_procs_resolved

Progress = Callable[[int, int, str], None]


def shard_name(job_id: int) -> str:
    return f"selfplay-job{job_id}.db"


def selfplay_handler(job: Job, jctx: JobContext) -> dict:
    spec = plan_selfplay(jctx.context, job)
    outcome = run_selfplay(spec, jctx.home.root, jctx.progress, jctx.lease_lost,
                           lock_timeout=jctx.context.queue_policy().lease_seconds)
    return publish_selfplay(jctx.context, job, jctx.worker, spec, outcome)


def plan_selfplay(context, job: Job) -> RunSpec:
    """The run's spec: resolved params (procs may stay 'auto': the host that runs it decides) and the
    model file, if the search uses one, with its sha256."""
    values = job_values("selfplay", job.params, context.setting, job)
    values["gumbel"] = context.setting("search.gumbel")
    spec_model = values["model"]
    inputs, name = (), spec_model
    if spec_model == "best":
        model = best_model(context.store, job.config_key)
        name = "heuristic" if model is None else model.id
    if name not in ("none", "heuristic", "random"):
        path = Path(name)
        if path.is_file():
            inputs = (InputFile("model", str(path.absolute()), sha256_of(path)),)
        else:
            model = get_model(context.store, name)
            if model is None:
                raise UserError(f"no model {name!r}: give best, none (heuristic), random, a model id (or unique "
                                "prefix) or a model file")
            registered_model_path(context, model.id)  # refuses a missing or tampered file, by name
            artifact = get_artifact(context.store, model.artifact_id)
            inputs = (InputFile("model", artifact.path, artifact.sha256),)
    values["model"] = "heuristic" if name == "none" else name if not inputs else "file"
    return RunSpec(job.id, job.claim_seq, "selfplay", job.config_key, values, inputs,
                   {"searched_with": describe_choice(context, job.config_key, spec_model)})


def run_selfplay(spec: RunSpec, root: Path, progress: Progress, stop: threading.Event, *,
                 lock_timeout: float) -> RunStatus:
    """Play the games missing from the run folder's shard; return the finished run's status."""
    run_dir = root / spec.run_dir
    final = run_dir / shard_name(spec.job_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    set_aside = None
    with exclusive_lock(run_dir / "selfplay.lock", timeout=lock_timeout):
        if not final.exists():
            set_aside = record_games(spec, root, final, progress, stop)
    import sqlite3

    conn = sqlite3.connect(f"file:{final}?mode=ro", uri=True)
    try:
        games, moves = count_games(conn)
    finally:
        conn.close()
    output = OutputFile(f"{spec.run_dir}/{final.name}", sha256_of(final), final.stat().st_size)
    result = {"games": games, "moves": moves, **({"set_aside": set_aside} if set_aside else {})}
    return RunStatus(spec.job_id, spec.claim_seq, "done", time.time(), games, spec.params["games"], "",
                     (output,), result)


def selfplay_params(spec: RunSpec) -> SelfplayParams:
    """The run's params, with ``procs: auto`` resolved here, on the host that runs it."""
    values = {key: spec.params[key] for key in SelfplayParams.__dataclass_fields__}
    return SelfplayParams(**with_procs_resolved(values))


def evaluator_of(spec: RunSpec, root: Path, device: str):
    """(evaluator, the name game records carry): the model input checked against its sha256."""
    from ..ai.evaluators import HeuristicEvaluator, RandomEvaluator
    from .model_choice import net_evaluator

    model = spec.input("model")
    if model is not None:
        return net_evaluator(input_path(root, model), spec.config_key, device), model.sha256
    if spec.params["model"] == "random":
        return RandomEvaluator(), "random"
    return HeuristicEvaluator(), "heuristic"


def record_games(spec: RunSpec, root: Path, final: Path, progress: Progress, stop: threading.Event) -> str | None:
    """Play the games missing from the temporary shard, then rename it to ``final``. Returns the
    name a corrupt temporary shard was set aside under (its games are played again), if any."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for
    from ..ai.search_procs import play_selfplay_procs
    from ..ai.selfplay import SelfplaySettings

    params = selfplay_params(spec)
    evaluator, model_name = evaluator_of(spec, root, params.device)
    tmp = final.with_name(final.name + ".tmp")
    meta = {"config_key": spec.config_key, "encoder_version": ENCODER_VERSION,
            "policy_size": encoder_for(spec.config_key).policy_size, "job_id": spec.job_id, "seed": params.seed}
    conn, set_aside = open_temporary_shard(tmp, meta)
    try:
        # Games finish out of order when several are played at once: resume by index, not by count.
        missing = sorted(set(range(params.games)) - recorded_indices(conn))
        started, done = time.monotonic(), params.games - len(missing)

        def on_move(tally) -> None:
            progress(done + tally.games, params.games, progress_detail(tally, time.monotonic() - started))
            if stop.is_set():
                raise UserError(f"selfplay job {spec.job_id} lost its claim; stopping (finished games are kept)")

        settings = SelfplaySettings(simulations=params.sims, temperature_plies=params.temperature_plies,
                                    dirichlet_fraction=params.dirichlet_fraction, c_puct=params.c_puct,
                                    gumbel=spec.params["gumbel"])
        play_selfplay_procs(spec.config_key, evaluator, model_name, settings, indices=missing,
                            parallel=params.parallel, base_seed=params.seed, procs=params.procs,
                            on_game=lambda record: write_game(conn, record, now()), on_move=on_move)
    except BaseException:
        conn.close()
        raise
    finish_shard(conn)
    os.replace(tmp, final)
    fsync_dir(final.parent)
    return set_aside


def open_temporary_shard(tmp: Path, meta: dict):
    """Open the temporary shard to resume; one that SQLite cannot read (a torn or overwritten file)
    is renamed aside, named in the job's result, and a fresh one started, rather than failing every
    attempt of the job without saying which file is at fault. One started with other ``meta`` is
    refused."""
    import sqlite3

    try:
        conn = open_shard(tmp, meta)
    except sqlite3.DatabaseError:
        conn = None
    if conn is not None:
        try:
            recorded = shard_meta(conn)
            recorded_indices(conn)
        except (sqlite3.DatabaseError, ValueError):
            conn.close()
        else:
            if {key: recorded.get(key) for key in meta} != meta:
                conn.close()
                raise UserError(f"{tmp} was started with another encoder, config or seed; remove it to start over")
            return conn, None
    aside = tmp.with_name(tmp.name + ".corrupt")
    os.replace(tmp, aside)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    return open_shard(tmp, meta), str(aside)


def progress_detail(tally, seconds: float) -> str:
    """Moves, moves/s and evaluations/s so far, and the batching evaluator's fill when there is one."""
    seconds = max(seconds, 1e-9)
    detail = f"{tally.moves} moves, {tally.moves / seconds:.0f} moves/s, {tally.evaluations / seconds:.0f} evals/s"
    fill = tally.batch_fill
    if fill is not None:
        detail += f", batch fill {fill:.0%}"
    return detail


def publish_selfplay(context, job: Job, worker: str, spec: RunSpec, status: RunStatus, *,
                     host: str = "local") -> dict:
    """Move the run's shard to ``games/<config>/`` and register it (once: a rerun registers nothing
    new), only while ``worker`` still holds the job's claim. The shard must be the file the run
    reported; one left under the final name by an interrupted publish was never registered."""
    from ..runner.publish import settle_output

    (output,) = status.outputs
    relative = f"games/{job.config_key}/{shard_name(job.id)}"
    settle_output(context.home.root, output, relative)
    registered = register_games_shard(context, job, worker, relative, output.sha256, output.bytes,
                                      status.result["games"], status.result["moves"], host=host)
    set_aside = status.result.get("set_aside")
    return {**registered, "seed": spec.params["seed"], "searched_with": (spec.meta or {}).get("searched_with"),
            **({"set_aside": set_aside} if set_aside else {})}


def register_games_shard(context, job: Job, worker: str, relative: str, sha256: str, size: int, games: int,
                         moves: int, *, host: str = "local") -> dict:
    """Register a finished games shard of ``job`` (a rerun registers nothing new), only while ``worker``
    still holds the job's claim."""
    with context.store.write() as db:
        check_held_in(db, job.id, worker, job.claim_seq)
        return register_games_shard_in(db, job, relative, sha256, size, games, moves, host=host)


def register_games_shard_in(db, job: Job, relative: str, sha256: str, size: int, games: int, moves: int, *,
                            host: str = "local") -> dict:
    """Inside the caller's transaction: the shard's artifact, with one ``games_recorded`` event."""
    artifact, created = register_artifact_in(
        db, kind="games", config_key=job.config_key, path=relative, sha256=sha256, size=size,
        meta={"games": games, "moves": moves}, job_id=job.id, host=host)
    if created:
        append_event(db, "games_recorded",
                     {"artifact_id": artifact.id, "path": relative, "games": games, "moves": moves},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"games_recorded:{artifact.id}")
    return {"artifact_id": artifact.id, "path": relative, "sha256": sha256, "games": games, "moves": moves}
