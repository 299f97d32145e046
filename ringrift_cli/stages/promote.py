"""The promote stage: the gate applied to a candidate, and the switch of the best model.

The gate (``ai.gate.decide``) reads every recorded game of the config. The
floors use the games eval recorded against the baselines; any still
missing this job plays itself (stopping once a floor is out of reach). The
SPRT against the best is sequential: head-to-head games through the arena,
each recorded like eval's, until a bound is crossed or
``promote.sprt_max_games``. So ``ringrift promote`` always decides. On pass,
one transaction retires the old best and makes the candidate best (a
partial unique index keeps one best per config, and the switch only happens
if the best is still the one the gate tested against); on fail the
candidate is rejected with its reason. Either way an event records the
evidence.

Unlike the other stages, promote is not split into plan, run and publish and
is never dispatched to a host (it is not in ``runner.spec.RUN_KINDS``): the
gate decides after every game from all the config's recorded matches, and
the switch of the best model must see the registry as it is, so the whole
stage runs on the controller, next to the state file.
"""

from __future__ import annotations

from ..ai.gate import BASELINES, GateDecision, GateSettings, decide
from ..ai.ratings import Game
from ..ai.sprt import SprtSettings
from ..errors import UserError
from ..game.rules import parse_config_key
from ..store.events import append_event
from ..store.matches import matches_for
from ..store.models import Model, best_model, promote_in, reject_in, rollback_in
from ..store.queue import Job, check_held_in
from .handlers import JobContext
from .matchplay import Participant, play_block, resolve_candidate, resolve_device
from .params import promote_params

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
    candidate = resolve_candidate(context, config_key, params.model)
    if candidate.status != "candidate":
        raise UserError(f"model {candidate.id[:12]} is {candidate.status}, not a candidate")
    gate_settings(context, parse_config_key(config_key)[1])


def current_decision(jctx: JobContext, job: Job, candidate: Model, best: Model | None, settings) -> GateDecision:
    games = [Game(m.players, m.ranks) for m in matches_for(jctx.context.store, job.config_key)]
    return decide(candidate.id, best.id if best else None, games, settings)


def promote_handler(job: Job, jctx: JobContext) -> dict:
    params = promote_params(job.params, jctx.context.setting, job)
    candidate = resolve_candidate(jctx.context, job.config_key, params.model)
    if candidate.status != "candidate":
        raise UserError(f"model {candidate.id[:12]} is {candidate.status}, not a candidate")
    best = best_model(jctx.context.store, job.config_key)
    players = parse_config_key(job.config_key)[1]
    settings = gate_settings(jctx.context, players)
    device = resolve_device(params.device)
    decision = current_decision(jctx, job, candidate, best, settings)
    still = lambda: current_decision(jctx, job, candidate, best, settings).decision == "continue"  # noqa: E731
    for block, baseline in enumerate(BASELINES, start=1):
        # Baseline games eval has not recorded yet are played here, stopping as soon as the gate decides
        # (a floor out of reach ends it early).
        missing = decision.needed.get(baseline, 0) if decision.decision == "continue" else 0
        if missing:
            seats = [Participant(candidate.id, candidate)] + [Participant(baseline)] * (players - 1)
            jctx.progress(0, missing, f"floor games against {baseline}")
            play_block(jctx, job, block, seats, missing + len(block_indices(jctx, job, block)), seed=params.seed,
                       simulations=params.sims, parallel=params.parallel, device=device,
                       procs=params.procs, stop=lambda: not still(),
                       on_game=lambda done, b=baseline, m=missing: jctx.progress(done, m, f"floor games against {b}"))
            decision = current_decision(jctx, job, candidate, best, settings)
    if decision.decision == "continue" and set(decision.needed) & set(BASELINES):
        decision = GateDecision("fail", "the gate could not play the baseline games it needs", decision.evidence)
    if decision.decision == "continue":  # the SPRT: head-to-head games until a bound is crossed or the limit
        seats = [Participant(candidate.id, candidate)] + [Participant(best.id, best)] * (players - 1)
        jctx.progress(0, settings.sprt.max_games, f"SPRT against {best.id[:12]}")
        play_block(jctx, job, 0, seats, settings.sprt.max_games, seed=params.seed, simulations=params.sims,
                   parallel=params.parallel, device=device, procs=params.procs,
                   stop=lambda: not still(),
                   on_game=lambda done: jctx.progress(done, settings.sprt.max_games, f"SPRT against {best.id[:12]}"))
        decision = current_decision(jctx, job, candidate, best, settings)
        if decision.decision == "continue":
            decision = GateDecision("fail", "the SPRT did not decide within the games it could play", decision.evidence)
    return publish_decision(jctx, job, candidate, best, decision)


def block_indices(jctx: JobContext, job: Job, block: int) -> set[int]:
    from ..store.matches import recorded_game_indices
    from .matchplay import BLOCK

    return {i for i in recorded_game_indices(jctx.context.store, job.id) if block * BLOCK <= i < (block + 1) * BLOCK}


def publish_decision(jctx: JobContext, job: Job, candidate: Model, best: Model | None, decision: GateDecision) -> dict:
    evidence = {**decision.evidence, "reason": decision.reason, "job_id": job.id}
    with jctx.context.store.write() as db:
        check_held_in(db, job.id, jctx.worker, job.claim_seq)
        if decision.decision == "pass":
            model = promote_in(db, candidate, best.id if best else None, evidence)
            if model is None:
                raise BestChanged(f"the best {job.config_key} model or model {candidate.id[:12]}'s status changed "
                                  "while the gate ran")
            append_event(db, "model_promoted", {"model_id": candidate.id, "previous_best": best.id if best else None,
                                                "evidence": evidence},
                         config_key=job.config_key, job_id=job.id, dedup_key=f"model_promoted:{candidate.id}")
        else:
            if reject_in(db, candidate, decision.reason, evidence) is None:
                raise UserError(f"model {candidate.id[:12]} is no longer a candidate")
            append_event(db, "model_rejected", {"model_id": candidate.id, "reason": decision.reason,
                                                "evidence": evidence},
                         config_key=job.config_key, job_id=job.id, dedup_key=f"model_rejected:{candidate.id}")
    return {"model_id": candidate.id, "decision": "promoted" if decision.decision == "pass" else "rejected",
            "reason": decision.reason, "previous_best": best.id if best else None, "evidence": evidence}


def rollback(context, config_key: str) -> tuple[Model, Model]:
    """Make the model the current best replaced best again (the current one is retired), with an event."""
    with context.store.write() as db:
        restored, demoted = rollback_in(db, config_key)
        append_event(db, "model_rolled_back", {"model_id": demoted.id, "restored": restored.id},
                     config_key=config_key)
    return restored, demoted
