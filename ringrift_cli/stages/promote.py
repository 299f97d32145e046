"""The promote stage: the gate applied to a candidate, and the switch of the best model.

The gate (``ai.gate.decide``, a pure function of recorded games) sets floors
against the baselines, then an SPRT against the best. Like eval, promote
runs in three steps:

- plan (controller): the candidate and the current best (each model file
  with its sha256), the gate's settings, and the games already recorded that
  the gate uses (the candidate's games against the baselines and against
  that best, from ``matches``).
- run (anywhere, files only): the floor games still missing (stopping once a
  floor is out of reach), then head-to-head games against the best until the
  SPRT crosses a bound or ``promote.sprt_max_games``, the gate deciding after
  every game over the planned games and the run's own. Each finished game is
  appended (fsynced) to ``runs/<job>/results.jsonl``, so a killed run's next
  claim plays only the games missing there. Its status carries the decision.
- publish (controller): the results checked against the plan (a host wrote
  them: untrusted), then one transaction under the job's fence appends the
  games not yet in ``matches``, decides again over every recorded game of the
  config and applies the decision: on pass the old best is retired and the
  candidate made best (a partial unique index keeps one best per config, and
  the switch only happens if the best is still the one the run played
  against; otherwise ``BestChanged``, and the job is retried against the new
  best); on fail the candidate is rejected with its reason. Either way an
  event records the evidence. So ``ringrift promote`` always decides.

``promote --rollback`` plays no games: it stays a controller-only action.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path

from ..ai.gate import BASELINES, GateDecision, GateSettings, decide
from ..ai.ratings import Game
from ..ai.sprt import SprtSettings
from ..errors import UserError
from ..files import exclusive_lock, sha256_of
from ..game.rules import parse_config_key
from ..runner.spec import RunSpec
from ..runner.status import OutputFile, RunStatus
from ..store.events import append_event
from ..store.matches import Match, matches_for, matches_in
from ..store.models import Model, best_model, find_model, get_model_in, promote_in, reject_in, rollback_in
from ..store.queue import Job, check_held_in
from .eval_results import RESULTS_FILE, BadResults, PlannedGames, ResultsFile, open_results, read_results
from .handlers import JobContext
from .matchplay import (BLOCK, PlayedGame, block_seats, model_files, planned_models, play_block_games,
                        play_settings, record_games_in, resolve_candidate, resolve_device)
from .params import job_values, promote_params, with_procs_resolved


class BestChanged(RuntimeError):
    """Another promotion changed the best model while this one ran (retried: the gate runs again)."""


def gate_settings(context, players: int) -> GateSettings:
    setting = context.setting
    floors = {baseline: setting(f"promote.floor_{baseline}_{players}p") for baseline in BASELINES}
    try:
        sprt = SprtSettings(elo0=setting("promote.sprt_elo0"), elo1=setting("promote.sprt_elo1"),
                            alpha=setting("promote.sprt_alpha"), beta=setting("promote.sprt_beta"),
                            max_games=setting("promote.sprt_max_games"))
    except ValueError as exc:
        raise UserError(f"promote settings: {exc}") from None
    return GateSettings(floors, setting("promote.min_games"), sprt)


def check_promote_inputs(context, config_key: str, raw: dict) -> None:
    params = promote_params(raw, context.setting)
    resolve_promotable(context, config_key, params.model)
    gate_settings(context, parse_config_key(config_key)[1])


def resolve_promotable(context, config_key: str, name: str) -> Model:
    """The model to gate: resolved like eval's candidate, and still a candidate."""
    candidate = resolve_candidate(context, config_key, name)
    if candidate.status != "candidate":
        raise UserError(f"model {candidate.id[:12]} is {candidate.status}, not a candidate")
    return candidate


def promote_handler(job: Job, jctx: JobContext) -> dict:
    spec = plan_promote(jctx.context, job)
    status = run_promote(spec, jctx.home.root, jctx.progress, jctx.lease_lost,
                         lock_timeout=jctx.context.queue_policy().lease_seconds)
    return publish_promote(jctx.context, job, jctx.worker, spec, status)


# ---------------------------------------------------------------- plan


def gate_uses(match: Match, candidate: str, best: str | None) -> bool:
    """Whether the gate reads this game: the candidate against a baseline or against ``best``."""
    return candidate in match.players and any(p in BASELINES or (best and p == best) for p in match.players)


def plan_promote(context, job: Job) -> RunSpec:
    """The candidate and the best (each model file with its sha256), the gate's settings, the games
    the gate already has, and every setting the new games are played with (``procs`` and ``device``
    may stay ``auto``: the host decides)."""
    values = job_values("promote", job.params, context.setting, job)
    candidate = resolve_promotable(context, job.config_key, values["model"])
    best = best_model(context.store, job.config_key)
    settings = gate_settings(context, parse_config_key(job.config_key)[1])
    inputs, models = planned_models(context, [candidate] + ([best] if best else []))
    recorded = [{"job_id": m.job_id, "game_index": m.game_index, "players": list(m.players), "ranks": list(m.ranks)}
                for m in matches_for(context.store, job.config_key) if gate_uses(m, candidate.id, best and best.id)]
    params = {"candidate": candidate.id, "best": best.id if best else "", "models": models,
              "gate": {"floors": settings.floors, "min_games": settings.min_games, "sprt": asdict(settings.sprt)},
              "recorded": recorded, **play_settings(context, values)}
    return RunSpec(job.id, job.claim_seq, "promote", job.config_key, params, tuple(inputs))


def spec_gate(spec: RunSpec) -> GateSettings:
    gate = spec.params["gate"]
    return GateSettings(dict(gate["floors"]), gate["min_games"], SprtSettings(**gate["sprt"]))


def planned_games(spec: RunSpec) -> PlannedGames:
    """Block 0: the SPRT against the best (none before a best exists); blocks 1 and 2: the floor games
    against each baseline. A run stops once the gate decides, so it records some of them."""
    gate = spec_gate(spec)
    return PlannedGames(spec.params["candidate"], (spec.params["best"],) + BASELINES,
                        (gate.sprt.max_games,) + (gate.min_games,) * len(BASELINES),
                        parse_config_key(spec.config_key)[1], partial=True)


def final_decision(decision: GateDecision) -> GateDecision:
    """The gate's decision once no more games will be played: still undecided is a fail."""
    if decision.decision != "continue":
        return decision
    if set(decision.needed) & set(BASELINES):
        return GateDecision("fail", "the gate could not play the baseline games it needs", decision.evidence)
    return GateDecision("fail", "the SPRT did not decide within the games it could play", decision.evidence)


# ---------------------------------------------------------------- run


def run_promote(spec: RunSpec, root: Path, progress, stop: threading.Event, *, lock_timeout: float) -> RunStatus:
    """Play the games the gate still needs (none already in the run folder's results); return the
    finished run's status, its result carrying the decision."""
    run_dir = root / spec.run_dir
    results_path = run_dir / RESULTS_FILE
    run_dir.mkdir(parents=True, exist_ok=True)
    planned = planned_games(spec)
    with exclusive_lock(run_dir / "promote.lock", timeout=lock_timeout):
        results, aside = open_results(run_dir, planned)
        try:
            decision = play_gate(spec, root, results, progress, stop)
        finally:
            results.close()
    games = len(results.recorded)
    output = OutputFile(f"{spec.run_dir}/{RESULTS_FILE}", sha256_of(results_path), results_path.stat().st_size)
    result = {"decision": decision.decision, "reason": decision.reason, "games": games,
              **({"set_aside": aside} if aside else {})}
    return RunStatus(spec.job_id, spec.claim_seq, "done", time.time(), games, games, "", (output,), result)


def gate_games(spec: RunSpec, own: dict[int, PlayedGame]) -> list[Game]:
    """The planned games (less this job's that the run folder also holds), then the run's own."""
    earlier = [Game(tuple(g["players"]), tuple(g["ranks"])) for g in spec.params["recorded"]
               if not (g["job_id"] == spec.job_id and g["game_index"] in own)]
    return earlier + [Game(g.players, g.ranks) for g in own.values()]


def play_gate(spec: RunSpec, root: Path, results: ResultsFile, progress, stop: threading.Event) -> GateDecision:
    """The floor games still missing, then the SPRT's head-to-head games, each block ending as soon as
    the gate decides."""
    from .model_choice import net_evaluator

    params = with_procs_resolved(spec.params)
    settings, planned = spec_gate(spec), planned_games(spec)
    best = params["best"] or None
    models = model_files(spec, root)
    device = resolve_device(params["device"])
    # Games this job recorded in matches on an earlier claim (a publish that stopped short) keep their indices.
    earlier_own = {g["game_index"] for g in params["recorded"] if g["job_id"] == spec.job_id}

    def current() -> GateDecision:
        return decide(planned.candidate, best, gate_games(spec, results.recorded), settings)

    def play(block: int, opponent: str, games: int, label: str) -> None:
        done = set(results.recorded) | earlier_own
        total = games - len([i for i in done if i // BLOCK == block])
        played = [0]

        def keep(game: PlayedGame) -> None:
            if stop.is_set():
                raise UserError(f"promote job {spec.job_id} lost its claim; stopping (recorded games are kept)")
            results.append(game)
            played[0] += 1
            progress(played[0], total, label)

        progress(0, total, label)
        seats = block_seats(planned.candidate, opponent, planned.seats, models, params["sims"])
        play_block_games(spec.config_key, block, seats, games, done=done, seed=params["seed"],
                         parallel=params["parallel"], procs=params["procs"],
                         load=lambda name: net_evaluator(models[name], spec.config_key, device),
                         gumbel=params["gumbel"], opening_plies=params["opening_plies"], on_game=keep,
                         stop=lambda: current().decision != "continue")

    decision = current()
    for block, baseline in enumerate(BASELINES, start=1):
        # Baseline games eval has not recorded are played here, stopping as soon as the gate decides
        # (a floor out of reach ends it early).
        missing = decision.needed.get(baseline, 0) if decision.decision == "continue" else 0
        if missing:
            own = len([i for i in set(results.recorded) | earlier_own if i // BLOCK == block])
            play(block, baseline, missing + own, f"floor games against {baseline}")
            decision = current()
    if decision.decision == "continue" and not set(decision.needed) & set(BASELINES):
        play(0, best, settings.sprt.max_games, f"SPRT against {best[:12]}")
        decision = current()
    return final_decision(decision)


# ---------------------------------------------------------------- publish


def publish_promote(context, job: Job, worker: str, spec: RunSpec, status: RunStatus, *, host: str = "local") -> dict:
    """Check the results against the plan, then in one transaction (under the job's fence) append the
    games not yet in ``matches``, decide over every recorded game and apply the decision."""
    from ..runner.publish import OutputRefused, verified_output

    if [output.path for output in status.outputs] != [f"{spec.run_dir}/{RESULTS_FILE}"]:
        raise OutputRefused(f"promote job {job.id}: outputs {', '.join(o.path for o in status.outputs)[:200]} "
                            "are not its results file")
    planned = planned_games(spec)
    try:
        games = read_results(verified_output(context.home.root, status.outputs[0]), planned)
    except BadResults as exc:
        raise OutputRefused(str(exc)) from None
    candidate = find_model(context.store, planned.candidate, job.config_key)
    best = spec.params["best"] or None
    settings = spec_gate(spec)
    with context.store.write() as db:
        check_held_in(db, job.id, worker, job.claim_seq)
        earlier = get_model_in(db, candidate.id)
        if earlier.status != "candidate" and (earlier.evidence or {}).get("job_id") == job.id:
            # This job's decision was applied by a publish that stopped before the job was completed.
            decision = GateDecision("pass" if earlier.status != "rejected" else "fail",
                                    earlier.evidence.get("reason", ""), earlier.evidence)
            return outcome(candidate, best, decision, {k: v for k, v in earlier.evidence.items()
                                                       if k != "previous_best"})
        record_games_in(db, job.config_key, job.id, games, spec.params["sims"])
        recorded = [Game(m.players, m.ranks) for m in matches_in(db, job.config_key)]
        decision = final_decision(decide(candidate.id, best, recorded, settings))
        changed = not apply_decision(db, job, candidate, best, decision)
    if changed:  # the games stay recorded; the retry plans against the new best
        raise BestChanged(f"the best {job.config_key} model or model {candidate.id[:12]}'s status changed "
                          "while the gate ran")
    return outcome(candidate, best, decision, evidence_of(job, decision))


def outcome(candidate: Model, best: str | None, decision: GateDecision, evidence: dict) -> dict:
    return {"model_id": candidate.id, "decision": "promoted" if decision.decision == "pass" else "rejected",
            "reason": decision.reason, "previous_best": best, "evidence": evidence}


def evidence_of(job: Job, decision: GateDecision) -> dict:
    return {**decision.evidence, "reason": decision.reason, "job_id": job.id}


def apply_decision(db, job: Job, candidate: Model, best: str | None, decision: GateDecision) -> bool:
    """Within the caller's transaction: promote or reject, with its event; False (nothing changed) when
    the best is no longer the one the gate tested against."""
    evidence = evidence_of(job, decision)
    if decision.decision == "pass":
        if promote_in(db, candidate, best, evidence) is None:
            return False
        append_event(db, "model_promoted", {"model_id": candidate.id, "previous_best": best, "evidence": evidence},
                     config_key=job.config_key, job_id=job.id, dedup_key=f"model_promoted:{candidate.id}")
        return True
    if reject_in(db, candidate, decision.reason, evidence) is None:
        raise UserError(f"model {candidate.id[:12]} is no longer a candidate")
    append_event(db, "model_rejected", {"model_id": candidate.id, "reason": decision.reason, "evidence": evidence},
                 config_key=job.config_key, job_id=job.id, dedup_key=f"model_rejected:{candidate.id}")
    return True


def rollback(context, config_key: str) -> tuple[Model, Model]:
    """Make the model the current best replaced best again (the current one is retired), with an event."""
    with context.store.write() as db:
        restored, demoted = rollback_in(db, config_key)
        append_event(db, "model_rolled_back", {"model_id": demoted.id, "restored": restored.id},
                     config_key=config_key)
    return restored, demoted
