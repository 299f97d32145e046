"""Fencing: only the current holder's claim number touches a claimed job; heartbeats keep its lease."""

from __future__ import annotations

import json
import time

import pytest

from ringrift_testing import run_cli
from ringrift_cli.store import queue as q

FAST = q.QueuePolicy(lease_seconds=60, max_attempts=5, backoff_base_seconds=0, backoff_max_seconds=0)


def test_a_stale_holder_reusing_its_name_cannot_touch_the_new_claim(store):
    q.enqueue(store, q.JobSpec("train", "hex8_2p"))
    stale = q.claim(store, "host1", ("train",), FAST, lease_seconds=1)
    time.sleep(1.05)  # the stale holder stops heartbeating; its lease runs out
    fresh = q.claim(store, "host1", ("train",), FAST)
    assert fresh.id == stale.id and fresh.claim_seq == stale.claim_seq + 1
    for call in (lambda: q.complete(store, stale.id, "host1", stale.claim_seq, {"from": "stale"}),
                 lambda: q.heartbeat(store, stale.id, "host1", stale.claim_seq),
                 lambda: q.fail(store, stale.id, "host1", stale.claim_seq, "x", FAST)):
        with pytest.raises(q.LeaseLost):
            call()
    assert q.get_job(store, fresh.id).status == "claimed"


@pytest.mark.parametrize("verb", [["complete"], ["heartbeat"], ["fail", "--error", "x"]])
def test_the_cli_requires_the_claim_number(home, verb):
    run_cli("queue", "add", "train", "hex8_2p")
    run_cli("queue", "claim", "--worker", "w")
    result = run_cli("queue", verb[0], "1", "--worker", "w", *verb[1:])
    assert result.exit_code == 2 and "--claim" in result.output
    assert json.loads(run_cli("queue", "show", "1", "--json").output)["status"] == "claimed"


def test_a_heartbeat_keeps_the_claims_own_lease_length(home):
    run_cli("queue", "add", "train", "hex8_2p")
    claimed = json.loads(run_cli("queue", "claim", "--worker", "w", "--lease", "120", "--json").output)
    beat = json.loads(run_cli("queue", "heartbeat", "1", "--worker", "w", "--claim", "1", "--json").output)
    assert beat["lease_until"] - beat["heartbeat_at"] == pytest.approx(120, abs=0.01)
    assert beat["lease_until"] >= claimed["lease_until"]
    longer = json.loads(run_cli("queue", "heartbeat", "1", "--worker", "w", "--claim", "1", "--lease", "300",
                                "--json").output)
    again = json.loads(run_cli("queue", "heartbeat", "1", "--worker", "w", "--claim", "1", "--json").output)
    assert longer["lease_until"] - longer["heartbeat_at"] == pytest.approx(300, abs=0.01)
    assert again["lease_until"] - again["heartbeat_at"] == pytest.approx(300, abs=0.01)
