"""The eval stage: a gauntlet of the candidate against each opponent, every game appended to ``matches``.

plan (controller): the candidate and the opponents resolved (``best`` is the best model now), each
model named by its file's sha256, and the games to play: block b is ``games`` games against
opponent b, seats rotating evenly (the arena's seating), seeds per game. run (anywhere, files
only): the games are played (over ``procs`` search processes) into ``runs/<job>/``: each finished
game goes to the run's games shard, then its result is appended (fsynced) to ``results.jsonl``, so a
killed run's next claim plays only the games missing there. publish (controller): one transaction,
under the job's fence, appends the results to ``matches`` (a game already there, from a publish that
stopped half-way, is not added again: a job's game index is unique), registers the games shard
(``games/<config>/eval-job<ID>.db``, read by export like selfplay's) and writes one
``eval_completed`` event with the score summary.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

from ..errors import UserError
from ..files import exclusive_lock, fsync_dir, sha256_of
from ..game.rules import parse_config_key
from ..runner.spec import RunSpec
from ..runner.status import OutputFile, RunStatus
from ..store.db import now
from ..store.events import append_event
from ..store.game_records import count_games, finish_shard, recorded_indices, write_game
from ..store.models import Model, best_model
from ..store.queue import Job, check_held_in
from .eval_results import RESULTS_FILE, BadResults, PlannedGames, ResultsFile, open_results, read_results
from .handlers import JobContext
from .matchplay import (Participant, PlayedGame, block_seats, model_files, planned_models, play_block_games,
                        play_settings, record_games_in, resolve_candidate, resolve_device)
from .params import eval_params, job_values, with_procs_resolved
from .selfplay import open_temporary_shard, progress_detail, register_games_shard_in


def resolve_opponents(context, config_key: str, names: tuple[str, ...], candidate: Model) -> list[Participant]:
    """Baselines by name, ``best`` as the current best model (left out before one exists or when it is the
    candidate itself), model ids checked like the candidate."""
    opponents = []
    for name in names:
        if name in ("random", "heuristic"):
            opponents.append(Participant(name))
            continue
        model = best_model(context.store, config_key) if name == "best" else resolve_candidate(context, config_key, name)
        if model is not None and model.id != candidate.id:
            opponents.append(Participant(model.id, model))
    if not opponents:
        raise UserError(f"no opponent left to play for model {candidate.id[:12]} (asked for {', '.join(names)})")
    return opponents


def check_eval_inputs(context, config_key: str, raw: dict) -> None:
    """What the CLI checks before it enqueues: the params, the candidate (file included), the opponents."""
    params = eval_params(raw, context.setting)
    resolve_opponents(context, config_key, params.opponents, resolve_candidate(context, config_key, params.model))


def eval_handler(job: Job, jctx: JobContext) -> dict:
    spec = plan_eval(jctx.context, job)
    status = run_eval(spec, jctx.home.root, jctx.progress, jctx.lease_lost,
                      lock_timeout=jctx.context.queue_policy().lease_seconds)
    return publish_eval(jctx.context, job, jctx.worker, spec, status)


def shard_name(job_id: int) -> str:
    return f"eval-job{job_id}.db"


def published_shard(config_key: str, job_id: int) -> str:
    return f"games/{config_key}/{shard_name(job_id)}"


def plan_eval(context, job: Job) -> RunSpec:
    """The candidate and the opponents (each model file with its sha256), the games and every setting
    they are played with, resolved (``procs`` and ``device`` may stay ``auto``: the host decides)."""
    values = job_values("eval", job.params, context.setting, job)
    candidate = resolve_candidate(context, job.config_key, values["model"])
    opponents = resolve_opponents(context, job.config_key, tuple(dict.fromkeys(values["opponents"].split(","))),
                                  candidate)
    inputs, models = planned_models(context, [candidate] + [o.model for o in opponents if o.model is not None])
    params = {"candidate": candidate.id, "opponents": [o.name for o in opponents], "models": models,
              "games": values["games"], **play_settings(context, values)}
    return RunSpec(job.id, job.claim_seq, "eval", job.config_key, params, tuple(inputs))


def planned_games(spec: RunSpec) -> PlannedGames:
    params = spec.params
    return PlannedGames(params["candidate"], tuple(params["opponents"]), (params["games"],) * len(params["opponents"]),
                        parse_config_key(spec.config_key)[1])


def run_eval(spec: RunSpec, root: Path, progress, stop: threading.Event, *, lock_timeout: float) -> RunStatus:
    """Play the games missing from the run folder's results; return the finished run's status."""
    run_dir = root / spec.run_dir
    final = run_dir / shard_name(spec.job_id)
    results_path = run_dir / RESULTS_FILE
    run_dir.mkdir(parents=True, exist_ok=True)
    planned = planned_games(spec)
    with exclusive_lock(run_dir / "eval.lock", timeout=lock_timeout):
        # The games shard of other games goes aside with their results, so neither mixes into this run's.
        results, aside = open_results(run_dir, planned, (final, *(final.with_name(final.name + suffix)
                                                                   for suffix in (".tmp", ".tmp-wal", ".tmp-shm"))))
        try:
            if not final.exists() and not restore_published(root, spec, final, set(results.recorded), planned):
                play_gauntlet(spec, root, final, results, progress, stop)
        finally:
            results.close()
    outputs = tuple(OutputFile(f"{spec.run_dir}/{path.name}", sha256_of(path), path.stat().st_size)
                    for path in (results_path, final))
    games = len(planned.indices())
    result = {"games": games, **({"set_aside": aside} if aside else {})}
    return RunStatus(spec.job_id, spec.claim_seq, "done", time.time(), games, games, "", outputs, result)


def restore_published(root: Path, spec: RunSpec, final: Path, recorded: set[int], planned: PlannedGames) -> bool:
    """Whether the run's finished shard was put back from where a publish on this machine moved it
    before stopping short of registering it (every game is in the results then): the outputs are
    whole again without playing a game twice."""
    published = root / published_shard(spec.config_key, spec.job_id)
    if recorded != planned.indices() or final.with_name(final.name + ".tmp").exists() or not published.is_file():
        return False
    copy = final.with_name(final.name + ".restored")
    shutil.copyfile(published, copy)
    os.replace(copy, final)
    fsync_dir(final.parent)
    return True


class GauntletProgress:
    """The job's progress: games over all opponents, and the search's moves and evaluations per second."""

    def __init__(self, progress, total: int, done: int):
        self.progress, self.total, self.done, self.started = progress, total, done, time.monotonic()
        self.opponent, self.tally = "", None

    def on_game(self) -> None:
        self.done += 1
        self.show()

    def on_move(self, tally) -> None:
        self.tally = tally
        self.show()

    def show(self) -> None:
        detail = f"vs {self.opponent[:12]}"
        if self.tally is not None:
            detail += ", " + progress_detail(self.tally, time.monotonic() - self.started)
        self.progress(min(self.done, self.total), self.total, detail)


def play_gauntlet(spec: RunSpec, root: Path, final: Path, results: ResultsFile, progress, stop: threading.Event) -> None:
    """Play (or finish) the games against each opponent into the temporary shard, then name it ``final``."""
    from .model_choice import net_evaluator

    params = with_procs_resolved(spec.params)
    device = resolve_device(params["device"])
    models = model_files(spec, root)
    planned = planned_games(spec)
    conn = open_eval_shard(spec, final)
    try:
        kept = recorded_indices(conn)
        shown = GauntletProgress(progress, len(planned.indices()), len(results.recorded))

        def keep(game: PlayedGame) -> None:
            if stop.is_set():
                raise UserError(f"eval job {spec.job_id} lost its claim; stopping (recorded games are kept)")
            if game.game_index not in kept:  # (kept, then killed before its result was appended: played again)
                write_game(conn, game.record, now())
                kept.add(game.game_index)
            results.append(game)
            shown.on_game()

        for block, opponent in enumerate(planned.blocks):
            shown.opponent = opponent
            seats = block_seats(planned.candidate, opponent, planned.seats, models, params["sims"])
            # A game in the results but not in the shard (a damaged shard started afresh) is played again
            # for the shard; its result is not appended twice.
            play_block_games(spec.config_key, block, seats, params["games"], done=kept & set(results.recorded),
                             seed=params["seed"], parallel=params["parallel"], procs=params["procs"],
                             load=lambda name: net_evaluator(models[name], spec.config_key, device),
                             gumbel=params["gumbel"], opening_plies=params["opening_plies"], on_game=keep,
                             on_move=shown.on_move, record=True)
    except BaseException:
        conn.close()
        raise
    finish_shard(conn)
    os.replace(final.with_name(final.name + ".tmp"), final)
    fsync_dir(final.parent)


def open_eval_shard(spec: RunSpec, final: Path):
    """The evaluation's games shard, resumed where a killed run of the job left it: its games become
    training data like selfplay's (the moves of baseline players are kept, but not as search targets)."""
    from ..ai.encoding import ENCODER_VERSION, encoder_for

    meta = {"config_key": spec.config_key, "encoder_version": ENCODER_VERSION,
            "policy_size": encoder_for(spec.config_key).policy_size, "job_id": spec.job_id, "seed": spec.params["seed"]}
    return open_temporary_shard(final.with_name(final.name + ".tmp"), meta)[0]


def publish_eval(context, job: Job, worker: str, spec: RunSpec, status: RunStatus, *, host: str = "local") -> dict:
    """Check the results against the plan, move the shard to ``games/<config>/``, then in one transaction
    (under the job's fence) append the games not yet in ``matches``, register the shard and write
    ``eval_completed``."""
    import sqlite3

    from ..ai.gate import scores_against, summary
    from ..ai.ratings import Game
    from ..runner.publish import OutputRefused, settle_output, verified_output

    names = {Path(output.path).name: output for output in status.outputs}
    if set(names) != {RESULTS_FILE, shard_name(job.id)} or len(status.outputs) != 2:
        raise OutputRefused(f"eval job {job.id}: outputs {', '.join(sorted(names))[:200]} are not its results "
                            "file and games shard")
    planned = planned_games(spec)
    root = context.home.root
    try:
        games = read_results(verified_output(root, names[RESULTS_FILE]), planned)
    except BadResults as exc:
        raise OutputRefused(str(exc)) from None
    output = names[shard_name(job.id)]
    relative = published_shard(job.config_key, job.id)
    shard = settle_output(root, output, relative)
    conn = sqlite3.connect(f"file:{shard}?mode=ro", uri=True)
    try:
        shard_games, moves = count_games(conn)
    except sqlite3.DatabaseError as exc:
        raise OutputRefused(f"eval job {job.id}: its games shard cannot be read ({exc})") from None
    finally:
        conn.close()
    played = [Game(g.players, g.ranks) for g in games]
    scores = {name: summary(scores_against(played, planned.candidate, name)) for name in planned.blocks}
    with context.store.write() as db:
        check_held_in(db, job.id, worker, job.claim_seq)
        record_games_in(db, job.config_key, job.id, games, spec.params["sims"])
        registered = register_games_shard_in(db, job, relative, output.sha256, output.bytes, shard_games, moves,
                                             host=host)
        append_event(db, "eval_completed", {"model_id": planned.candidate, "games": len(games), "scores": scores},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"eval_completed:{job.id}")
    aside = status.result.get("set_aside")
    return {"model_id": planned.candidate, "games": len(games), "scores": scores, "games_shard": registered,
            **({"set_aside": aside[:400]} if isinstance(aside, str) else {})}
