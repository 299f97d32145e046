"""The work-queue's contract, through the store's public functions on a real file."""

from __future__ import annotations

import time

import pytest

from ringrift_cli.errors import UserError
from ringrift_cli.store import queue as q
from ringrift_cli.store.events import events_for_job

FAST = q.QueuePolicy(lease_seconds=0.2, max_attempts=2, backoff_base_seconds=0.0, backoff_max_seconds=0.0)


def add(store, kind="selfplay", key="hex8_2p", **fields):
    job, created = q.enqueue(store, q.JobSpec(kind=kind, config_key=key, **fields), FAST)
    return job


def test_enqueue_with_same_dedup_key_adds_one_row(store):
    first, created = q.enqueue(store, q.JobSpec("selfplay", "hex8_2p", dedup_key="k"))
    again, created_again = q.enqueue(store, q.JobSpec("selfplay", "hex8_2p", params={"games": 1}, dedup_key="k"))
    assert created and not created_again
    assert again.id == first.id and again.params == {}
    assert len(q.list_jobs(store)) == 1


def test_claim_takes_highest_priority_then_oldest(store):
    low = add(store, priority=1)
    high_old = add(store, priority=5)
    add(store, priority=5)
    assert q.claim(store, "w", ("selfplay",), FAST).id == high_old.id
    q.claim(store, "w", ("selfplay",), FAST)
    assert q.claim(store, "w", ("selfplay",), FAST).id == low.id
    assert q.claim(store, "w", ("selfplay",), FAST) is None


def test_claim_only_returns_requested_kinds(store):
    add(store, kind="train")
    assert q.claim(store, "w", ("selfplay", "export"), FAST) is None
    assert q.claim(store, "w", ("train",), FAST).kind == "train"


def test_job_pinned_to_host_is_claimed_only_for_that_host(store):
    pinned = add(store, host="gpu1")
    assert q.claim(store, "w", ("selfplay",), FAST) is None
    assert q.claim(store, "w", ("selfplay",), FAST, host="gpu2") is None
    assert q.claim(store, "w", ("selfplay",), FAST, host="gpu1").id == pinned.id


def test_claim_sets_lease_and_counts_attempt(store):
    add(store)
    before = time.time()
    job = q.claim(store, "w1", ("selfplay",), FAST, lease_seconds=30)
    assert job.status == "claimed" and job.claimed_by == "w1" and job.attempts == 1
    assert before + 29 < job.lease_until < time.time() + 31


def test_heartbeat_extends_lease(store):
    add(store)
    job = q.claim(store, "w1", ("selfplay",), FAST, lease_seconds=5)
    beat = q.heartbeat(store, job.id, "w1", job.claim_seq, lease_seconds=100)
    assert beat.lease_until > job.lease_until + 90


def test_complete_stores_result_and_finishes(store):
    add(store)
    job = q.claim(store, "w1", ("selfplay",), FAST)
    done = q.complete(store, job.id, "w1", job.claim_seq, {"games": 3})
    assert done.status == "done" and done.result == {"games": 3} and done.finished_at


@pytest.mark.parametrize("worker, claim", [("other", 1), ("w1", 2)])
def test_complete_refused_unless_worker_and_claim_match(store, worker, claim):
    add(store)
    job = q.claim(store, "w1", ("selfplay",), FAST)
    with pytest.raises(q.LeaseLost):
        q.complete(store, job.id, worker, claim, {})
    assert q.get_job(store, job.id).status == "claimed"


def test_fail_requeues_with_backoff_and_keeps_error(store):
    policy = q.QueuePolicy(lease_seconds=10, max_attempts=3, backoff_base_seconds=100, backoff_max_seconds=1000)
    add(store)
    job = q.claim(store, "w1", ("selfplay",), policy)
    failed = q.fail(store, job.id, "w1", job.claim_seq, "boom", policy)
    assert failed.status == "queued" and failed.error == "boom" and failed.claimed_by is None
    assert failed.not_before > time.time() + 90
    assert q.claim(store, "w2", ("selfplay",), policy) is None  # still backing off


def test_backoff_doubles_and_is_capped():
    policy = q.QueuePolicy(lease_seconds=60, max_attempts=3, backoff_base_seconds=10, backoff_max_seconds=35)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [10, 20, 35, 35]


def test_fail_after_last_attempt_goes_dead_keeping_error(store):
    add(store)
    for attempt in (1, 2):
        job = q.claim(store, "w", ("selfplay",), FAST)
        assert job.attempts == attempt
        last = q.fail(store, job.id, "w", job.claim_seq, f"boom {attempt}", FAST)
    assert last.status == "dead" and last.error == "boom 2"
    assert q.claim(store, "w", ("selfplay",), FAST) is None


def test_permanent_failure_goes_dead_at_once(store):
    add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    assert q.fail(store, job.id, "w", 1, "bad params", FAST, retry=False).status == "dead"


def test_expired_lease_returns_job_to_queue(store):
    add(store)
    job = q.claim(store, "w1", ("selfplay",), FAST, lease_seconds=0.05)
    time.sleep(0.1)
    again = q.claim(store, "w2", ("selfplay",), FAST)
    assert again.id == job.id and again.attempts == 2 and again.claimed_by == "w2"
    with pytest.raises(q.LeaseLost):
        q.complete(store, job.id, "w1", 1, {})
    assert "lease expired" in (again.error or "")


def test_expired_lease_after_max_attempts_goes_dead(store):
    add(store)
    for _ in range(2):
        q.claim(store, "w", ("selfplay",), FAST, lease_seconds=0.01)
        time.sleep(0.03)
    reaped = q.reap_expired(store, FAST)
    assert [job.status for job in reaped] == ["dead"]
    assert "lease expired" in reaped[0].error


def test_reap_leaves_live_leases_alone(store):
    add(store)
    q.claim(store, "w", ("selfplay",), FAST, lease_seconds=60)
    assert q.reap_expired(store, FAST) == []


def test_cancelled_job_cannot_be_completed(store):
    add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    q.cancel(store, job.id)
    with pytest.raises(q.LeaseLost):
        q.complete(store, job.id, "w", 1, {})


def test_retry_revives_dead_job_with_fresh_attempts(store):
    add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    q.fail(store, job.id, "w", 1, "x", FAST, retry=False)
    revived = q.retry(store, job.id)
    assert revived.status == "queued" and revived.attempts == 0
    with pytest.raises(UserError):
        q.retry(store, job.id)


def test_purge_deletes_only_old_finished_jobs(store):
    done = add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    q.complete(store, job.id, "w", 1, None)
    queued = add(store)
    assert q.purge(store, ("done",), older_than_seconds=3600) == 0
    time.sleep(0.02)
    assert q.purge(store, ("done",), older_than_seconds=0.01) == 1
    assert [j.id for j in q.list_jobs(store)] == [queued.id]
    assert done.id != queued.id
    with pytest.raises(UserError):
        q.purge(store, ("queued",), 0)


def test_every_state_change_appends_an_event(store):
    add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    q.fail(store, job.id, "w", 1, "x", FAST)
    job = q.claim(store, "w", ("selfplay",), FAST)
    q.complete(store, job.id, "w", 2, {"n": 1})
    types = [event.type for event in events_for_job(store, job.id)]
    assert types == ["job_enqueued", "job_claimed", "job_failed", "job_claimed", "job_completed"]
    assert events_for_job(store, job.id)[2].payload["next_status"] == "queued"


def test_negative_priority_is_refused_and_writes_nothing(store):
    with pytest.raises(UserError):
        add(store, priority=-1)
    assert q.list_jobs(store) == []


def test_job_fields_follow_the_table_column_order(store):
    import dataclasses

    columns = [row["name"] for row in store.read("PRAGMA table_info(jobs)")]
    assert [f.name for f in dataclasses.fields(q.Job)] == columns


def test_complete_and_claim_share_one_transaction(store):
    first, second = add(store), add(store)
    job = q.claim(store, "w", ("selfplay",), FAST)
    nxt = q.complete_and_claim(store, job, "w", {"ok": 1}, ("selfplay",), FAST)
    assert q.get_job(store, first.id).status == "done" and nxt.id == second.id
    q.cancel(store, nxt.id)
    third = add(store)
    with pytest.raises(q.LeaseLost):
        q.complete_and_claim(store, nxt, "w", {}, ("selfplay",), FAST)
    assert q.get_job(store, third.id).status == "queued"  # the refused completion claimed nothing


def test_claim_number_fences_a_stale_holder_with_the_same_name_after_retry(store):
    add(store)
    stale = q.claim(store, "host1", ("selfplay",), FAST, lease_seconds=0.01)
    time.sleep(0.03)
    q.reap_expired(store, FAST)
    # The job is queued again (attempt 1 of 2 used): use up the second attempt, then retry it.
    second = q.claim(store, "other", ("selfplay",), FAST)
    q.fail(store, second.id, "other", second.claim_seq, "boom", FAST)
    assert q.get_job(store, second.id).status == "dead"
    q.retry(store, second.id)
    fresh = q.claim(store, "host1", ("selfplay",), FAST)
    assert fresh.attempts == stale.attempts == 1 and fresh.claim_seq == 3
    with pytest.raises(q.LeaseLost):
        q.complete(store, stale.id, "host1", stale.claim_seq, {"from": "stale"})
    assert q.complete(store, fresh.id, "host1", fresh.claim_seq, {}).status == "done"


def test_unreasonable_leases_and_priorities_are_refused(store):
    add(store)
    for lease in (float("inf"), float("nan"), 0, -5, 1e12):
        with pytest.raises(UserError, match="lease"):
            q.claim(store, "w", ("selfplay",), FAST, lease_seconds=lease)
    with pytest.raises(UserError, match="priority"):
        add(store, priority=2**70)
