"""Stopping stale runs and removing finished ones on a host, through the local transport (no SSH)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ringrift_cli.loop.hosts_step import HostKnobs, HostsReport, Poll, host_worker, settle_poll
from ringrift_cli.remote.hosts_file import Host
from ringrift_cli.remote.runs import tidy_runs
from ringrift_cli.remote.transport import LocalTransport
from ringrift_cli.runner.status import OutputFile, RunStatus
from ringrift_cli.store import queue as q
from ringrift_testing import process_running

LOCAL = Host(name="local", ssh="local")


def fake_run(root: Path, job: int, claim: int) -> int:
    """A process that looks like job's run (its command line names run-job and the job's spec), recorded
    in run.pid as start_runs records one; its pid."""
    from ringrift_cli.remote import run_control

    folder = root / "runs" / str(job)
    argv = [sys.executable, "-c", "import time; time.sleep(120)", "run-job", str(folder / "spec.json")]
    run_control.start(str(root), [[job, claim, argv, str(folder / "log.txt")]])
    return json.loads((folder / "run.pid").read_text())["pid"]


def test_a_run_of_an_older_claim_is_stopped_and_its_folder_kept_until_its_job_is_finished(tmp_path):
    pids = [fake_run(tmp_path, 7, 1), fake_run(tmp_path, 8, 3)]
    (tmp_path / "runs" / "9").mkdir()  # no run.pid: not started here, left alone
    try:
        with LocalTransport(LOCAL) as transport:
            tidied = tidy_runs(transport, str(tmp_path), {7: 1, 8: 3}, [7, 8])
            assert (tidied.stopped, tidied.removed) == ([], []) and all(map(process_running, pids))
            tidied = tidy_runs(transport, str(tmp_path), {8: 3}, [7, 8])  # job 7 went elsewhere
            assert (tidied.stopped, tidied.removed) == ([7], []) and not process_running(pids[0]) and process_running(pids[1])
            assert (tmp_path / "runs" / "7" / "run.pid").is_file(), "kept: job 7 may come back here"
            tidied = tidy_runs(transport, str(tmp_path), {}, [8])  # job 7 finished, job 8 lost its claim
            assert (tidied.stopped, tidied.removed) == ([8], [7]) and not process_running(pids[1])
        assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["8", "9"]
    finally:
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def test_starting_a_new_claim_stops_the_old_run_and_a_recorded_pid_that_is_not_a_run_is_left_alone(tmp_path):
    old = fake_run(tmp_path, 5, 1)
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    (tmp_path / "runs" / "6").mkdir()
    (tmp_path / "runs" / "6" / "run.pid").write_text(json.dumps({"pid": stranger.pid, "claim_seq": 1}))
    try:
        new = fake_run(tmp_path, 5, 2)
        assert not process_running(old) and process_running(new), "two runs never share a folder"
        with LocalTransport(LOCAL) as transport:
            tidied = tidy_runs(transport, str(tmp_path), {5: 2}, [])
        assert tidied.stopped == [] and tidied.removed == [6] and stranger.poll() is None
    finally:
        for pid in (old, new, stranger.pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        stranger.wait()


def test_a_status_of_an_older_claim_is_neither_collected_nor_renews_the_lease(ctx):
    """The host's run folder still holds the run of an earlier claim (finished, or still beating)."""
    job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={}))
    worker = host_worker("h1")
    first = q.claim(ctx.store, worker, ("selfplay",), lease_seconds=60)
    q.release(ctx.store, job.id, worker, first.claim_seq, "host h1 stopped answering")
    current = q.claim(ctx.store, worker, ("selfplay",), lease_seconds=60)
    assert current.claim_seq == first.claim_seq + 1
    knobs = HostKnobs(lease_seconds=60, heartbeat_seconds=10, breaker_failures=3, breaker_cooldown_seconds=60)
    host = Host(name="h1", ssh="u@h1.example:22")
    output = OutputFile(f"runs/{job.id}/selfplay-job{job.id}.db", "a" * 64, 10)
    for state in ("done", "running"):
        old = RunStatus(job.id, first.claim_seq, state, time.time(), outputs=(output,) if state == "done" else ())
        report = HostsReport()
        settle_poll(ctx, Poll(host, statuses={job.id: old}), [current], knobs, time.time() + 30, report)
        after = q.get_job(ctx.store, job.id)
        assert after.status == "claimed" and after.claim_seq == current.claim_seq
        assert after.lease_until == current.lease_until, "no renewal from another claim's heartbeat"
        assert report.collected == [] and report.refused == []
    assert ctx.store.read("SELECT * FROM artifacts") == []
