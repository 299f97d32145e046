"""The loop's decisions: pure functions of (snapshot, settings, now) returning actions with reasons.

Every threshold comes from LoopSettings (one default each, in settings.py); nothing here
reads a clock, a file or the state file.
"""

from __future__ import annotations

import math
import time

from ..store.loop_state import ConfigFacts
from .actions import STAGE_PRIORITY, Decision, DeleteFile, Enqueue, Optimize, Pressure, PruneEvents, Wait
from .breakers import breaker_actions, stage_scope
from .knobs import LoopSettings
from .snapshot import Snapshot

LEVELS = ("none", "soft", "hard")


def clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def decide(snapshot: Snapshot, knobs: LoopSettings) -> Decision:
    """Everything one tick should do, and why each stage that gets nothing waits."""
    now = snapshot.now
    decision = Decision()
    breaker_rows, breaker_states = breaker_actions(snapshot.breakers, snapshot.outcomes, knobs, now)
    decision.actions += breaker_rows
    decision.pressure = backpressure(snapshot, knobs)
    decision.actions += retention(snapshot, knobs)
    if knobs.halted:
        since = f" since {clock(snapshot.halted_at)}" if snapshot.halted_at else ""
        decision.waits.append(Wait(None, "all", f"halted{since}: {knobs.halt_reason or 'no reason given'}"))
        return decision
    gates = {kind: stage_gate(kind, breaker_states, snapshot) for kind in STAGE_PRIORITY}
    for kind, (allowed, why) in gates.items():
        if allowed == 0:
            decision.waits.append(Wait(None, kind, why))
    wanted = []
    for facts in snapshot.configs.values():
        wanted += export_policy(facts, snapshot, knobs, decision.waits)
        wanted += train_policy(facts, snapshot, knobs, decision.waits)
        wanted += eval_policy(facts)
        wanted += promote_policy(facts)
    wanted += selfplay_policy(snapshot, knobs, decision.pressure, decision.waits)
    left = {kind: allowed for kind, (allowed, _) in gates.items()}
    for action in wanted:
        if left[action.kind] is not None:
            if left[action.kind] <= 0:
                continue
            left[action.kind] -= 1
        decision.actions.append(action)
    return decision


def stage_gate(kind: str, breaker_states: dict[str, str], snapshot: Snapshot) -> tuple[int | None, str]:
    """How many new jobs of ``kind`` the breaker lets through (None: no limit), and why."""
    state = breaker_states.get(stage_scope(kind), "closed")
    breaker = snapshot.breakers.get(stage_scope(kind))
    if state == "open":
        retry = breaker.retry_at if breaker is not None and breaker.state == "open" else None
        failures = breaker.failures if breaker is not None else 0
        until = f" until {clock(retry)}" if retry else ""
        return 0, f"breaker open{until} after {failures} failures"
    if state == "half_open":
        if snapshot.active_count(kind):
            return 0, "breaker half-open: waiting for the probe job"
        return 1, "breaker half-open: one probe job"
    return None, ""


def backpressure(snapshot: Snapshot, knobs: LoopSettings) -> Pressure:
    """none, soft (halve new selfplay) or hard (no new selfplay), with what caused it."""
    level, reasons = 0, []

    def check(name: str, value: float, soft: float, hard: float, below: bool = False) -> None:
        nonlocal level
        over_hard = value <= hard if below else value >= hard
        over_soft = value <= soft if below else value >= soft
        if over_hard or over_soft:
            step = 2 if over_hard else 1
            limit = hard if over_hard else soft
            sign = "<" if below else ">"
            reasons.append(f"{name} {value:,.0f} {sign}= {limit:,.0f}" if not below
                           else f"{name} {value:,.1f} {sign}= {limit:,.1f}")
            level = max(level, step)

    for kind, queued in sorted(snapshot.queued_by_kind().items()):
        check(f"queued {kind} jobs", queued, knobs.queued_soft, knobs.queued_hard)
    check("unexported games", sum(f.unexported_games for f in snapshot.configs.values()),
          knobs.unexported_soft, knobs.unexported_hard)
    check("untrained samples", sum(f.untrained_samples for f in snapshot.configs.values()),
          knobs.untrained_soft, knobs.untrained_hard)
    check("free GB on the data root", snapshot.free_gb, knobs.free_gb_soft, knobs.free_gb_hard, below=True)
    return Pressure(LEVELS[level], tuple(reasons))


def selfplay_weight(facts: ConfigFacts, knobs: LoopSettings, now: float) -> tuple[float, list[str]]:
    """The curriculum: configs short of data, with a stale best model, or still rising get more."""
    weight, why = 1.0, []
    if facts.games < knobs.min_games:
        weight += 2
        why.append(f"short of data ({facts.games:,} < {knobs.min_games:,} games)")
    if facts.best_since is None or now - facts.best_since >= knobs.stale_best_seconds:
        weight += 1
        why.append("no best model yet" if facts.best_since is None else "best model is stale")
    elif facts.best_rising:
        weight += 1
        why.append("Elo rising (the best model beat the one before it)")
    return weight, why


def selfplay_policy(snapshot: Snapshot, knobs: LoopSettings, pressure: Pressure, waits: list[Wait]) -> list[Enqueue]:
    """Keep ``selfplay_backlog`` selfplay jobs queued or running, shared out by the curriculum."""
    target = knobs.selfplay_backlog
    if pressure.level == "hard":
        waits.append(Wait(None, "selfplay", f"paused, backpressure hard ({'; '.join(pressure.reasons)})"))
        return []
    if pressure.level == "soft":
        target = math.ceil(target / 2)
    active = {key: snapshot.active_count("selfplay", key) for key in snapshot.configs}
    missing = target - sum(active.values())
    if missing <= 0:
        soft = f", halved by soft backpressure ({'; '.join(pressure.reasons)})" if pressure.level == "soft" else ""
        waits.append(Wait(None, "selfplay", f"backlog full: {sum(active.values())} / {target} jobs{soft}"))
        return []
    weights = {key: selfplay_weight(facts, knobs, snapshot.now) for key, facts in snapshot.configs.items()}
    added = {key: 0 for key in snapshot.configs}
    actions = []
    for _ in range(missing):
        key = max(snapshot.configs, key=lambda k: weights[k][0] / (1 + active[k] + added[k]))
        facts = snapshot.configs[key]
        number = facts.selfplay_jobs_ever + added[key]
        added[key] += 1
        why = "; ".join(weights[key][1]) or "steady share"
        actions.append(Enqueue("selfplay", key, {"games": knobs.selfplay_games},
                               f"loop:selfplay:{key}:{number}",
                               f"backlog {sum(active.values()) + sum(added.values())} / {target}: {why}",
                               STAGE_PRIORITY["selfplay"]))
    return actions


def export_policy(facts: ConfigFacts, snapshot: Snapshot, knobs: LoopSettings, waits: list[Wait]) -> list[Enqueue]:
    key = facts.config_key
    if snapshot.active_count("export", key):
        waits.append(Wait(key, "export", "an export job is queued or running"))
        return []
    if facts.unexported_games >= knobs.export_min_games:
        reason = f"{facts.unexported_games:,} unexported games >= {knobs.export_min_games:,}"
    elif facts.unexported_games and facts.oldest_unexported_at is not None \
            and snapshot.now - facts.oldest_unexported_at >= knobs.export_max_age_seconds:
        age = (snapshot.now - facts.oldest_unexported_at) / 60
        reason = f"oldest unexported games are {age:,.0f} min old"
    else:
        waits.append(Wait(key, "export", f"{facts.unexported_games:,} / {knobs.export_min_games:,} unexported games"))
        return []
    return [Enqueue("export", key, {}, f"loop:export:{key}:{facts.newest_games_artifact}", reason,
                    STAGE_PRIORITY["export"])]


def train_policy(facts: ConfigFacts, snapshot: Snapshot, knobs: LoopSettings, waits: list[Wait]) -> list[Enqueue]:
    key = facts.config_key
    if snapshot.active_count("train", key):
        waits.append(Wait(key, "train", "a train job is queued or running"))
        return []
    if facts.untrained_samples < knobs.train_min_samples:
        waits.append(Wait(key, "train", f"{facts.untrained_samples:,} / {knobs.train_min_samples:,} new samples"))
        return []
    return [Enqueue("train", key, {}, f"loop:train:{key}:{facts.newest_npz_artifact}",
                    f"{facts.untrained_samples:,} new samples >= {knobs.train_min_samples:,}",
                    STAGE_PRIORITY["train"])]


def eval_policy(facts: ConfigFacts) -> list[Enqueue]:
    return [Enqueue("eval", facts.config_key, {"model": model}, f"loop:eval:{model}",
                    f"candidate {model[:12]} not yet evaluated", STAGE_PRIORITY["eval"])
            for model in facts.candidates_to_eval]


def promote_policy(facts: ConfigFacts) -> list[Enqueue]:
    return [Enqueue("promote", facts.config_key, {"model": model}, f"loop:promote:{model}",
                    f"candidate {model[:12]} evaluated", STAGE_PRIORITY["promote"])
            for model in facts.candidates_to_promote]


def retention(snapshot: Snapshot, knobs: LoopSettings) -> list:
    """Delete what is no longer needed: passed events, exported old games, surplus retired models."""
    actions: list = []
    for item in snapshot.expired_games:
        actions.append(DeleteFile(item.artifact_id, item.config_key, item.kind, item.path,
                                  "exported and older than retention.games_seconds"))
    for item in snapshot.surplus_models:
        actions.append(DeleteFile(item.artifact_id, item.config_key, item.kind, item.path,
                                  f"retired; newer {knobs.keep_retired_models} kept"))
    due = snapshot.last_maintenance is None or snapshot.now - snapshot.last_maintenance >= knobs.maintenance_seconds
    if due:
        actions.append(PruneEvents(snapshot.now - knobs.events_seconds,
                                   "events every cursor has passed, older than retention.events_seconds"))
        actions.append(Optimize("periodic PRAGMA optimize"))
    return actions
