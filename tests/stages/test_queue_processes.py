"""The queue under real processes: concurrency and SIGKILL."""

from __future__ import annotations

import collections
import signal
import subprocess
import time

import pytest

from ringrift_testing import PYTHON, SUPPORT, run_cli, sigint_as_at_a_terminal
from ringrift_cli.store import queue as q
from ringrift_cli.store.settings import store_setting

pytestmark = pytest.mark.slow


def test_eight_processes_complete_5000_jobs_exactly_once(store, subprocess_env):
    with store.write() as conn:
        for i in range(5000):
            q.enqueue_in(conn, q.JobSpec("selfplay", "square8_2p", params={"seed": i}), q.default_policy())
    workers = [
        subprocess.Popen([PYTHON, str(SUPPORT / "claim_loop.py"), f"w{n}"], env=subprocess_env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    completed = collections.Counter()
    per_worker = {}
    for n, proc in enumerate(workers):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        ids = [int(line) for line in out.split()]
        per_worker[n] = len(ids)
        completed.update(ids)
    assert len(completed) == 5000 and set(completed.values()) == {1}
    assert sum(per_worker.values()) == 5000
    rows = store.read("SELECT status, attempts, count(*) AS n FROM jobs GROUP BY status, attempts")
    assert [(r["status"], r["attempts"], r["n"]) for r in rows] == [("done", 1, 5000)]
    claims = store.read("SELECT count(*) AS n, count(DISTINCT job_id) AS d FROM events WHERE type = 'job_claimed'")[0]
    assert (claims["n"], claims["d"]) == (5000, 5000)
    # Every job's result names the worker that logged it: nobody completed another's claim.
    assert len([n for n in per_worker.values() if n > 0]) >= 2


def test_sigkilled_worker_job_is_rerun_by_another_worker(store, subprocess_env, tmp_path):
    store_setting(store, "queue.backoff_base_seconds", 0.0)  # retry as soon as the lease is reaped
    job, _ = q.enqueue(store, q.JobSpec("selfplay", "hex8_2p"))
    marker = tmp_path / "started"
    env = {**subprocess_env, "RINGRIFT_TEST_MARKER": str(marker)}
    victim = subprocess.Popen(
        [PYTHON, "-m", "ringrift_cli", "worker", "--plugin", "plugin_slow", "--kinds", "selfplay",
         "--lease", "2", "--name", "victim"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), victim.stderr.read() if victim.poll() is not None else "worker never started"
    time.sleep(1.5)  # heartbeats have kept it alive past the first lease
    assert q.get_job(store, job.id).status == "claimed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    time.sleep(2.5)  # the lease passes with no heartbeat
    rescuer = subprocess.run(
        [PYTHON, "-m", "ringrift_cli", "worker", "--plugin", "plugin_quick", "--name", "rescuer"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert rescuer.returncode == 0, rescuer.stderr
    finished = q.get_job(store, job.id)
    assert finished.status == "done" and finished.attempts == 2
    assert finished.result["worker"] == "rescuer"
    with pytest.raises(q.LeaseLost):
        q.complete(store, job.id, "victim", 1, {"late": True})
    late = run_cli("queue", "complete", str(job.id), "--worker", "victim", "--claim", "1")
    assert late.exit_code == 2 and "no longer held" in late.output
    assert q.get_job(store, job.id).result["worker"] == "rescuer"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_selfplay_gives_its_job_back_at_once(store, subprocess_env, home, stop):
    proc = subprocess.Popen(
        [PYTHON, "-m", "ringrift_cli", "selfplay", "square8_2p", "--games", "50", "--sims", "16",
         "--model", "none"], env=subprocess_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=sigint_as_at_a_terminal)
    deadline = time.time() + 60
    while time.time() < deadline and not q.list_jobs(store, status="claimed"):
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(stop)
    proc.wait(timeout=60)
    [job] = q.list_jobs(store, kind="selfplay")
    assert job.status == "queued" and job.attempts == 0 and job.claimed_by is None
    said = proc.stderr.read().decode()
    assert "Traceback" not in said and f"job {job.id} handed back to the queue" in said
    assert proc.returncode == (143 if stop == signal.SIGTERM else 130)
