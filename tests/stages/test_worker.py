"""``run_worker``: claims only what it can run, heartbeats, completes or fails, then stops."""

from __future__ import annotations

import threading
import time

import pytest

from ringrift_testing import run_cli
from ringrift_cli.stages.handlers import load_handlers
from ringrift_cli.runner.worker import run_worker
from ringrift_cli.store import queue as q


def enqueue(store, kind="selfplay", max_attempts=None, **params):
    return q.enqueue(store, q.JobSpec(kind, "hex8_2p", params=params, max_attempts=max_attempts))[0]


def test_worker_runs_jobs_and_stores_results(ctx):
    a, b = enqueue(ctx.store, games=1), enqueue(ctx.store, games=2)
    report = run_worker(ctx, {"selfplay": lambda job, c: {"double": job.params["games"] * 2}},
                        worker="w", kinds=("selfplay",))
    assert sorted(report.done) == [a.id, b.id]
    assert q.get_job(ctx.store, b.id).result == {"double": 4}


def test_worker_leaves_kinds_without_handler_queued(ctx):
    train = enqueue(ctx.store, kind="train")
    report = run_worker(ctx, {"selfplay": lambda job, c: None}, worker="w", kinds=("selfplay", "train"))
    assert report.done == [] and q.get_job(ctx.store, train.id).status == "queued"


def test_handler_exception_fails_the_attempt_with_its_message(ctx):
    job = enqueue(ctx.store, max_attempts=1)

    def explode(job, context):
        raise ValueError("bad board")

    report = run_worker(ctx, {"selfplay": explode}, worker="w", kinds=("selfplay",))
    dead = q.get_job(ctx.store, job.id)
    assert report.failed == [job.id] and dead.status == "dead" and "ValueError: bad board" in dead.error


def test_heartbeat_keeps_a_long_job_past_its_lease(ctx):
    job = enqueue(ctx.store)
    stolen = []

    def slow(job, context):
        time.sleep(1.6)  # four leases of 0.4 s
        from ringrift_cli.context import open_context

        with open_context(ctx.home.root) as other:
            stolen.append(q.claim(other.store, "thief", ("selfplay",), other.queue_policy()))
        return {"ok": True}

    report = run_worker(ctx, {"selfplay": slow}, worker="w", kinds=("selfplay",), lease_seconds=0.4)
    assert report.done == [job.id] and stolen == [None]
    assert q.get_job(ctx.store, job.id).attempts == 1


def test_worker_reports_lost_when_claim_is_cancelled_mid_job(ctx):
    job = enqueue(ctx.store)
    saw_loss = threading.Event()

    def cancelled_midway(job, context):
        from ringrift_cli.context import open_context

        with open_context(ctx.home.root) as other:
            q.cancel(other.store, job.id)
        saw_loss.set() if context.lease_lost.wait(3) else None
        return {}

    report = run_worker(ctx, {"selfplay": cancelled_midway}, worker="w", kinds=("selfplay",), lease_seconds=1)
    assert report.lost == [job.id] and saw_loss.is_set()
    assert q.get_job(ctx.store, job.id).status == "cancelled"


def test_max_jobs_stops_the_worker(ctx):
    for _ in range(3):
        enqueue(ctx.store)
    report = run_worker(ctx, {"selfplay": lambda job, c: None}, worker="w", kinds=("selfplay",), max_jobs=2)
    assert len(report.done) == 2


def test_plugin_handlers_load_and_bad_plugins_are_refused(monkeypatch):
    import sys

    from ringrift_testing import SUPPORT

    monkeypatch.syspath_prepend(str(SUPPORT))
    from ringrift_cli.stages.handlers import builtin_handlers

    assert set(load_handlers(["plugin_slow"])) == set(builtin_handlers()) >= {"selfplay", "export", "train"}
    with pytest.raises(Exception, match="cannot import plugin"):
        load_handlers(["no_such_plugin_module"])
    assert "plugin_slow" in sys.modules


def test_worker_cli_without_any_handler_says_so(home):
    result = run_cli("worker", "--kinds", "sync")
    assert result.exit_code == 2 and "no handler" in result.output


def test_handler_result_that_is_not_plain_json_fails_the_job_not_the_worker(ctx):
    import numpy as np

    bad = enqueue(ctx.store)
    good = enqueue(ctx.store)
    results = iter([{"loss": np.float32(0.5)}, {"loss": 0.5}])
    report = run_worker(ctx, {"selfplay": lambda job, c: next(results)}, worker="w", kinds=("selfplay",))
    assert report.failed == [bad.id] and report.done == [good.id]
    dead = q.get_job(ctx.store, bad.id)
    assert dead.status == "dead" and "not plain JSON" in dead.error


def test_worker_says_why_a_job_failed(ctx, monkeypatch):
    from ringrift_testing import SUPPORT

    monkeypatch.syspath_prepend(str(SUPPORT))
    job = enqueue(ctx.store, kind="export", max_attempts=1)
    out = run_cli("worker", "--plugin", "plugin_slow", "--kinds", "export").output
    assert f"failed job {job.id}: export hex8_2p (attempt 1): RuntimeError: export exploded (now dead)" in out


def test_worker_gives_each_job_its_own_progress_callback(ctx):
    from contextlib import contextmanager

    from ringrift_cli.runner.worker import run_worker
    from ringrift_cli.store.queue import JobSpec, enqueue

    seen = []

    def handler(job, jctx):
        jctx.progress(1, 2, "half")
        return {"ok": True}

    @contextmanager
    def recorder(job):
        yield lambda done, total, detail: seen.append((job.id, done, total, detail))

    first, _ = enqueue(ctx.store, JobSpec(kind="export", config_key="hex8_2p"))
    second, _ = enqueue(ctx.store, JobSpec(kind="export", config_key="square8_2p"))
    report = run_worker(ctx, {"export": handler}, worker="w", kinds=("export",), progress_for=recorder)
    assert report.done == [first.id, second.id]
    assert seen == [(first.id, 1, 2, "half"), (second.id, 1, 2, "half")]
