"""The queue commands wired end to end (JSON output is what shell workers read)."""

from __future__ import annotations

import json

from ringrift_testing import run_cli


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_shell_worker_cycle_add_claim_heartbeat_complete(home):
    added = as_json(run_cli("queue", "add", "selfplay", "hex8_2p", "--param", "games=12",
                            "--param", "model=best", "--priority", "4", "--json"))
    assert added["created"] and added["params"] == {"games": 12, "model": "best"}
    job = as_json(run_cli("queue", "claim", "--worker", "sh1", "--kinds", "selfplay", "--lease", "30", "--json"))
    for field in ("id", "kind", "config_key", "params", "attempts", "lease_until"):
        assert field in job
    assert job["id"] == added["id"] and job["attempts"] == 1
    beat = as_json(run_cli("queue", "heartbeat", str(job["id"]), "--worker", "sh1", "--claim", "1", "--lease", "300",
                          "--json"))
    assert beat["lease_until"] > job["lease_until"]
    done = as_json(run_cli("queue", "complete", str(job["id"]), "--worker", "sh1", "--claim", "1",
                           "--result", '{"games": 12}', "--json"))
    assert done["status"] == "done" and done["result"] == {"games": 12}
    shown = as_json(run_cli("queue", "show", str(job["id"]), "--json"))
    assert [e["type"] for e in shown["events"]] == ["job_enqueued", "job_claimed", "job_completed"]


def test_dedup_twice_adds_one_row(home):
    run_cli("queue", "add", "eval", "square8_2p", "--dedup", "eval-1")
    second = run_cli("queue", "add", "eval", "square8_2p", "--dedup", "eval-1")
    assert "nothing added" in second.output
    assert len(as_json(run_cli("queue", "ls", "--json"))) == 1


def test_fail_to_dead_then_dead_list_then_retry(home):
    run_cli("queue", "add", "train", "hex8_2p", "--max-attempts", "1")
    job = as_json(run_cli("queue", "claim", "--worker", "w", "--json"))
    out = run_cli("queue", "fail", str(job["id"]), "--worker", "w", "--claim", str(job["claim_seq"]),
                  "--error", "CUDA out of memory")
    assert "dead" in out.output
    dead = as_json(run_cli("queue", "dead", "--json"))
    assert [d["error"] for d in dead] == ["CUDA out of memory"]
    assert "CUDA out of memory" in run_cli("queue", "dead").output
    assert as_json(run_cli("queue", "retry", str(job["id"]), "--json"))["status"] == "queued"
    assert as_json(run_cli("queue", "dead", "--json")) == []


def test_ls_filters_by_status_and_kind(home):
    run_cli("queue", "add", "train", "hex8_2p")
    run_cli("queue", "add", "eval", "hex8_2p")
    run_cli("queue", "cancel", "1")
    assert [j["kind"] for j in as_json(run_cli("queue", "ls", "--status", "queued", "--json"))] == ["eval"]
    assert [j["status"] for j in as_json(run_cli("queue", "ls", "--kind", "train", "--json"))] == ["cancelled"]


def test_purge_done_older_than(home):
    run_cli("queue", "add", "train", "hex8_2p")
    job = as_json(run_cli("queue", "claim", "--worker", "w", "--json"))
    run_cli("queue", "complete", str(job["id"]), "--worker", "w", "--claim", str(job["claim_seq"]))
    assert as_json(run_cli("queue", "purge", "--done", "--older-than", "7d", "--json"))["purged"] == 0
    assert as_json(run_cli("queue", "purge", "--done", "--older-than", "0s", "--json"))["purged"] == 1
    pruned = as_json(run_cli("queue", "purge", "--events", "--older-than", "0s", "--json"))
    assert pruned["events_purged"] >= 3
    events = as_json(run_cli("status", "--json"))["events"]
    assert len(events) == 1  # the newest stays, so event ids never restart


def test_purge_keeps_the_events_a_cursor_has_not_read(ctx, home):
    from ringrift_cli.store.events import recent_events
    from ringrift_cli.store.loop_state import move_cursor_in

    for _ in range(3):
        run_cli("queue", "add", "train", "hex8_2p")
    ids = sorted(e.id for e in recent_events(ctx.store, 10))
    with ctx.store.write() as conn:
        move_cursor_in(conn, "loop", ids[0], 0.0)  # the loop has read only the first event
    assert as_json(run_cli("queue", "purge", "--events", "--older-than", "0s", "--json"))["events_purged"] == 1
    assert sorted(e.id for e in recent_events(ctx.store, 10)) == ids[1:]


def test_reap_command_returns_expired_jobs(home):
    run_cli("queue", "add", "train", "hex8_2p")
    run_cli("config", "set", "queue.backoff_base_seconds", "0")
    job = as_json(run_cli("queue", "claim", "--worker", "w", "--lease", "1", "--json"))
    import time

    time.sleep(1.1)
    reaped = as_json(run_cli("queue", "reap", "--json"))
    assert [(r["id"], r["status"]) for r in reaped] == [(job["id"], "queued")]


def test_queue_ls_keeps_whole_cells_at_80_columns(home, subprocess_env):
    import subprocess

    from ringrift_testing import PYTHON

    for args in (["selfplay", "square19_4p"], ["export", "hexagonal_3p"]):
        assert run_cli("queue", "add", *args).exit_code == 0
    out = subprocess.run([PYTHON, "-m", "ringrift_cli", "queue", "ls"], env={**subprocess_env, "COLUMNS": "80"},
                         capture_output=True, text=True, check=True).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    for cell in ("selfplay", "square19_4p", "hexagonal_3p", "queued"):
        assert cell in out
