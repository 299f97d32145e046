from __future__ import annotations

import json

from ringrift_testing import run_cli
from ringrift_cli.store import queue as q
from ringrift_cli.store.breakers import list_breakers, record_failure, record_success


def test_status_json_reports_depth_claims_dead_breakers_events(ctx, home):
    for kind in ("selfplay", "selfplay", "train"):
        q.enqueue(ctx.store, q.JobSpec(kind, "hex8_2p", max_attempts=1))
    claimed = q.claim(ctx.store, "gpu1:77", ("selfplay",), ctx.queue_policy())
    dead = q.claim(ctx.store, "w", ("train",), ctx.queue_policy())
    q.fail(ctx.store, dead.id, "w", 1, "out of disk", ctx.queue_policy())
    record_failure(ctx.store, "host:gpu2", "ssh timeout", threshold=1, cooldown_seconds=300)
    status = json.loads(run_cli("status", "--json").output)
    assert status["depth"]["selfplay"]["queued"] == 1 and status["depth"]["selfplay"]["claimed"] == 1
    assert status["depth"]["train"]["dead"] == 1 and status["depth"]["eval"]["queued"] == 0
    assert [j["claimed_by"] for j in status["claimed"]] == ["gpu1:77"]
    assert [j["error"] for j in status["dead"]] == ["out of disk"]
    assert [(b["scope"], b["state"]) for b in status["breakers"]] == [("host:gpu2", "open")]
    assert status["events"][0]["type"] == "breaker_opened"
    assert claimed.id in [j["id"] for j in status["claimed"]]


def test_status_tables_render_for_people(ctx, home):
    q.enqueue(ctx.store, q.JobSpec("export", "square19_3p"))
    q.claim(ctx.store, "box:1", ("export",), ctx.queue_policy())
    out = run_cli("status").output
    for word in ("queue", "claimed (1)", "box:1", "dead jobs", "breakers", "recent events", "job_claimed"):
        assert word in out


def test_breaker_opens_at_threshold_and_closes_on_success(store):
    assert record_failure(store, "stage:train", "a", threshold=2, cooldown_seconds=60).state == "closed"
    opened = record_failure(store, "stage:train", "b", threshold=2, cooldown_seconds=60)
    assert opened.state == "open" and opened.retry_at > opened.opened_at
    record_success(store, "stage:train")
    assert [(b.state, b.failures) for b in list_breakers(store)] == [("closed", 0)]


def test_open_breaker_becomes_half_open_after_cooldown(store):
    breaker = record_failure(store, "host:x", "down", threshold=1, cooldown_seconds=0)
    assert breaker.effective_state(breaker.retry_at + 1) == "half_open"


def test_status_counts_recorded_games_and_exported_samples(home):
    run_cli("selfplay", "hex8_2p", "--games", "2", "--sims", "4", "--model", "none")
    run_cli("selfplay", "hex8_2p", "--games", "1", "--sims", "4", "--model", "none", "--seed", "3")
    before = json.loads(run_cli("status", "--json").output)["data"]
    assert [(r["config_key"], r["games_shards"], r["games"], r["unexported_shards"], r["npz_shards"])
            for r in before] == [("hex8_2p", 2, 3, 2, 0)]
    run_cli("export", "hex8_2p")
    [after] = json.loads(run_cli("status", "--json").output)["data"]
    assert after["unexported_shards"] == 0 and after["npz_shards"] == 1 and after["samples"] > 0
    assert "not exported" in run_cli("status").output
