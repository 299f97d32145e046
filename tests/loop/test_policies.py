"""The loop's pure decisions, tested on hand-made snapshots with a fake clock (no processes, no files)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ringrift_cli.loop.actions import Enqueue, Optimize, PruneEvents, SetBreaker
from ringrift_cli.loop.breakers import breaker_actions
from ringrift_cli.loop.knobs import loop_settings
from ringrift_cli.loop.policies import decide
from ringrift_cli.loop.snapshot import Snapshot
from ringrift_cli.settings import default_of
from ringrift_cli.store.breakers import Breaker
from ringrift_cli.store.events import Event
from ringrift_cli.store.loop_state import ActiveCount, ConfigFacts

NOW = 1_800_000_000.0
KNOBS = replace(loop_settings(default_of), configs=("hex8_2p", "square8_2p"))


def facts(key="hex8_2p", **changes) -> ConfigFacts:
    base = ConfigFacts(config_key=key, games=0, unexported_games=0, oldest_unexported_at=None,
                       newest_games_artifact=0, untrained_samples=0, newest_npz_artifact=0, selfplay_jobs_ever=0,
                       best_model=None, best_since=None, best_rising=False, candidates_to_eval=(),
                       candidates_to_promote=())
    return replace(base, **changes)


def snap(*configs: ConfigFacts, active=(), breakers=None, outcomes=(), free_gb=100.0, now=NOW,
         last_maintenance=NOW) -> Snapshot:
    configs = configs or (facts(),)
    return Snapshot(now=now, configs={f.config_key: f for f in configs}, active=tuple(active),
                    breakers=breakers or {}, outcomes=tuple(outcomes), free_gb=free_gb,
                    last_maintenance=last_maintenance, halted_at=None)


def enqueued(decision, kind=None):
    return [a for a in decision.actions if isinstance(a, Enqueue) and (kind is None or a.kind == kind)]


def waits(decision, stage):
    return [w.reason for w in decision.waits if w.stage == stage]


def outcome(event_type, kind, at, error="boom", event_id=1):
    payload = {"kind": kind, "worker": "w", "attempt": 1}
    if event_type == "job_completed":
        payload["result"] = None
    else:
        payload.update({"error": error, "next_status": "queued", "not_before": None})
    return Event(event_id, event_type, "hex8_2p", payload, 1, at)


# --- selfplay and the curriculum -------------------------------------------------------------

def test_selfplay_fills_the_backlog_and_no_more():
    decision = decide(snap(active=[ActiveCount("selfplay", "hex8_2p", "queued", 1)]), KNOBS)
    jobs = enqueued(decision, "selfplay")
    assert len(jobs) == KNOBS.selfplay_backlog - 1
    assert all(job.params == {"games": KNOBS.selfplay_games} for job in jobs)


def test_selfplay_dedup_keys_continue_after_the_highest_used_number():
    decision = decide(snap(facts(selfplay_jobs_ever=7)), replace(KNOBS, selfplay_backlog=2, configs=("hex8_2p",)))
    assert [job.dedup_key for job in enqueued(decision, "selfplay")] == ["loop:selfplay:hex8_2p:7",
                                                                         "loop:selfplay:hex8_2p:8"]


def test_curriculum_gives_the_config_short_of_data_more_selfplay():
    rich = facts("square8_2p", games=KNOBS.min_games * 2, best_since=NOW - 60, best_model="m")
    poor = facts("hex8_2p", games=10)
    decision = decide(snap(poor, rich), replace(KNOBS, selfplay_backlog=8))
    keys = [job.config_key for job in enqueued(decision, "selfplay")]
    assert keys.count("hex8_2p") > keys.count("square8_2p") >= 1
    assert any("short of data" in job.reason for job in enqueued(decision, "selfplay"))


def test_a_fresh_best_that_beat_its_predecessor_counts_as_rising():
    steady = facts("square8_2p", games=10**6, best_since=NOW - 60, best_model="m")
    rising = facts("hex8_2p", games=10**6, best_since=NOW - 60, best_model="n", best_rising=True)
    keys = [job.config_key for job in enqueued(decide(snap(rising, steady), replace(KNOBS, selfplay_backlog=3)),
                                               "selfplay")]
    assert keys.count("hex8_2p") == 2 and keys.count("square8_2p") == 1


def test_a_full_backlog_says_so():
    active = [ActiveCount("selfplay", "hex8_2p", "claimed", KNOBS.selfplay_backlog)]
    decision = decide(snap(active=active), KNOBS)
    assert not enqueued(decision, "selfplay")
    assert waits(decision, "selfplay") == [f"backlog full: {KNOBS.selfplay_backlog} / {KNOBS.selfplay_backlog} jobs"]


# --- backpressure ------------------------------------------------------------------------------

def test_soft_backpressure_halves_new_selfplay():
    many = facts(unexported_games=KNOBS.unexported_soft)
    decision = decide(snap(many), replace(KNOBS, selfplay_backlog=6, configs=("hex8_2p",)))
    assert decision.pressure.level == "soft"
    assert len(enqueued(decision, "selfplay")) == 3


@pytest.mark.parametrize("cause", ["unexported", "untrained", "queued", "disk"])
def test_hard_backpressure_stops_selfplay_and_says_why(cause):
    config = facts(unexported_games=KNOBS.unexported_hard if cause == "unexported" else 0,
                   untrained_samples=KNOBS.untrained_hard if cause == "untrained" else 0)
    active = [ActiveCount("export", "hex8_2p", "queued", KNOBS.queued_hard)] if cause == "queued" else []
    free = KNOBS.free_gb_hard / 2 if cause == "disk" else 1000.0
    decision = decide(snap(config, active=active, free_gb=free), KNOBS)
    assert decision.pressure.level == "hard"
    assert not enqueued(decision, "selfplay")
    [reason] = waits(decision, "selfplay")
    assert reason.startswith("paused, backpressure hard (")
    assert {"unexported": "unexported games", "untrained": "untrained samples", "queued": "queued export jobs",
            "disk": "free GB"}[cause] in reason


# --- export, train, eval, promote -----------------------------------------------------------

def test_export_waits_below_the_threshold_then_runs_at_it():
    below = decide(snap(facts(unexported_games=KNOBS.export_min_games - 1, oldest_unexported_at=NOW)), KNOBS)
    assert not enqueued(below, "export")
    assert f"{KNOBS.export_min_games - 1:,} / {KNOBS.export_min_games:,} unexported games" in waits(below, "export")
    at = decide(snap(facts(unexported_games=KNOBS.export_min_games, newest_games_artifact=42,
                           oldest_unexported_at=NOW)), KNOBS)
    [job] = enqueued(at, "export")
    assert job.dedup_key == "loop:export:hex8_2p:42"


def test_old_unexported_games_are_exported_below_the_count_threshold():
    old = facts(unexported_games=3, oldest_unexported_at=NOW - KNOBS.export_max_age_seconds, newest_games_artifact=5)
    assert len(enqueued(decide(snap(old), KNOBS), "export")) == 1
    young = replace(old, oldest_unexported_at=NOW - KNOBS.export_max_age_seconds + 1)
    assert not enqueued(decide(snap(young), KNOBS), "export")


def test_no_second_export_while_one_is_queued():
    config = facts(unexported_games=KNOBS.export_min_games * 3, oldest_unexported_at=NOW)
    decision = decide(snap(config, active=[ActiveCount("export", "hex8_2p", "queued", 1)]), KNOBS)
    assert not enqueued(decision, "export")


def test_train_runs_on_enough_new_samples_and_never_twice_at_once():
    ready = facts(untrained_samples=KNOBS.train_min_samples, newest_npz_artifact=9)
    [job] = enqueued(decide(snap(ready), KNOBS), "train")
    assert job.dedup_key == "loop:train:hex8_2p:9"
    busy = decide(snap(ready, active=[ActiveCount("train", "hex8_2p", "claimed", 1)]), KNOBS)
    assert not enqueued(busy, "train")
    short = decide(snap(replace(ready, untrained_samples=12_400)), replace(KNOBS, train_min_samples=50_000))
    assert "12,400 / 50,000 new samples" in waits(short, "train")


def test_every_unevaluated_candidate_gets_an_eval_and_evaluated_ones_a_promote():
    config = facts(candidates_to_eval=("aaa", "bbb"), candidates_to_promote=("ccc",))
    decision = decide(snap(config), KNOBS)
    assert [(j.params, j.dedup_key) for j in enqueued(decision, "eval")] == [
        ({"model": "aaa"}, "loop:eval:aaa"), ({"model": "bbb"}, "loop:eval:bbb")]
    assert [j.dedup_key for j in enqueued(decision, "promote")] == ["loop:promote:ccc"]


def test_later_stages_get_higher_priority():
    config = facts(candidates_to_eval=("a",), candidates_to_promote=("b",), untrained_samples=10**9,
                   unexported_games=10**4, oldest_unexported_at=NOW)
    jobs = {j.kind: j.priority for j in enqueued(decide(snap(config), replace(KNOBS, unexported_hard=10**6,
                                                                               untrained_hard=10**10)), None)}
    assert jobs["promote"] > jobs["eval"] > jobs["train"] > jobs["export"] > jobs["selfplay"]


# --- halt ----------------------------------------------------------------------------------------

def test_halted_loop_enqueues_nothing_but_keeps_breakers_and_retention():
    config = facts(untrained_samples=10**9, candidates_to_eval=("a",))
    outcomes = [outcome("job_failed", "train", NOW - i, event_id=i) for i in range(KNOBS.breaker_failures)]
    decision = decide(snap(config, outcomes=outcomes, last_maintenance=None),
                      replace(KNOBS, halted=True, halt_reason="disk swap"))
    assert not enqueued(decision)
    assert any(isinstance(a, SetBreaker) and a.state == "open" for a in decision.actions)
    assert any(isinstance(a, PruneEvents) for a in decision.actions)
    assert any("halted" in w.reason and "disk swap" in w.reason for w in decision.waits)


# --- breakers ------------------------------------------------------------------------------------

def fold(outcomes, breakers=None, now=NOW, knobs=KNOBS):
    rows, states = breaker_actions(breakers or {}, tuple(outcomes), knobs, now)
    return {row.scope: row for row in rows}, states


def as_breaker(row: SetBreaker, at: float) -> Breaker:
    return replace(row.breaker, updated_at=at)


def test_breaker_opens_after_consecutive_failures_within_the_window():
    n = KNOBS.breaker_failures
    rows, states = fold([outcome("job_failed", "train", NOW - 10 * (n - i), event_id=i) for i in range(n)])
    assert states["stage:train"] == "open"
    assert rows["stage:train"].event == "breaker_opened"
    assert rows["stage:train"].breaker.retry_at == pytest.approx(NOW - 10 + KNOBS.breaker_cooldown_seconds)


def test_failures_further_apart_than_the_window_do_not_open_it():
    gap = KNOBS.breaker_window_seconds + 1
    n = KNOBS.breaker_failures
    _, states = fold([outcome("job_failed", "train", NOW - gap * (n - i), event_id=i) for i in range(n)])
    assert states["stage:train"] == "closed"


def test_a_success_resets_the_count():
    n = KNOBS.breaker_failures
    events = [outcome("job_failed", "train", NOW - 50 + i, event_id=i) for i in range(n - 1)]
    events.append(outcome("job_completed", "train", NOW - 10, event_id=99))
    events.append(outcome("job_failed", "train", NOW - 5, event_id=100))
    _, states = fold(events)
    assert states["stage:train"] == "closed"


def test_open_breaker_blocks_its_kind_then_lets_exactly_one_probe_through_after_cool_down():
    n = KNOBS.breaker_failures
    rows, _ = fold([outcome("job_failed", "train", NOW, event_id=i) for i in range(n)])
    breaker = as_breaker(rows["stage:train"], NOW)
    config = facts(untrained_samples=10**9)
    blocked = decide(snap(config, breakers={"stage:train": breaker}, now=NOW + 1), KNOBS)
    assert not enqueued(blocked, "train")
    assert any(w.reason.startswith("breaker open until") and f"after {n} failures" in w.reason
               for w in blocked.waits if w.stage == "train")
    later = NOW + KNOBS.breaker_cooldown_seconds + 1
    probe = decide(snap(config, replace(config, config_key="square8_2p"), breakers={"stage:train": breaker},
                        now=later), KNOBS)
    assert len(enqueued(probe, "train")) == 1
    assert any(isinstance(a, SetBreaker) and a.event == "breaker_half_open" for a in probe.actions)
    waiting = decide(snap(config, breakers={"stage:train": replace(breaker, state="half_open")},
                          active=[ActiveCount("train", "hex8_2p", "claimed", 1)], now=later), KNOBS)
    assert not enqueued(waiting, "train")


def test_half_open_probe_success_closes_and_failure_reopens():
    half = Breaker("stage:train", "half_open", 3, "boom", NOW - 700, NOW - 100, NOW - 100)
    rows, states = fold([outcome("job_completed", "train", NOW)], {"stage:train": half})
    assert states["stage:train"] == "closed" and rows["stage:train"].event == "breaker_closed"
    rows, states = fold([outcome("job_failed", "train", NOW)], {"stage:train": half})
    assert states["stage:train"] == "open" and rows["stage:train"].event == "breaker_opened"
    assert rows["stage:train"].breaker.retry_at == NOW + KNOBS.breaker_cooldown_seconds


def test_lease_expiry_counts_as_a_failure():
    events = [Event(i, "job_lease_expired", "hex8_2p",
                    {"kind": "selfplay", "worker": "w", "attempt": 1, "next_status": "queued", "not_before": None},
                    1, NOW) for i in range(KNOBS.breaker_failures)]
    _, states = fold(events)
    assert states["stage:selfplay"] == "open"


# --- retention -----------------------------------------------------------------------------------

def test_maintenance_runs_once_per_interval():
    due = decide(snap(last_maintenance=NOW - KNOBS.maintenance_seconds), KNOBS)
    assert any(isinstance(a, PruneEvents) for a in due.actions) and any(isinstance(a, Optimize) for a in due.actions)
    [prune] = [a for a in due.actions if isinstance(a, PruneEvents)]
    assert prune.older_than == NOW - KNOBS.events_seconds
    fresh = decide(snap(last_maintenance=NOW - KNOBS.maintenance_seconds + 1), KNOBS)
    assert not any(isinstance(a, (PruneEvents, Optimize)) for a in fresh.actions)
