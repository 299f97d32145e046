"""The local machine as a host (`ssh: local`): the tick runs jobs on it through the same protocol."""

from __future__ import annotations

import time

from ringrift_cli.context import open_context
from ringrift_cli.loop.tick import run_tick
from ringrift_cli.store import queue as q
from ringrift_cli.store.settings import store_setting


def test_an_empty_hosts_file_means_this_machine_through_the_same_protocol(home):
    (home / "hosts.yaml").write_text("hosts:\n")
    with open_context(home) as ctx:
        store_setting(ctx.store, "loop.selfplay_backlog", 0)
        job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={
            "games": 1, "sims": 2, "parallel": 1, "procs": 1, "model": "none", "seed": 4}))
    deadline = time.monotonic() + 120
    dispatched = []
    while time.monotonic() < deadline:
        with open_context(home) as ctx:
            report = run_tick(ctx, time.time())
            dispatched += report.hosts["dispatched"]
            if q.get_job(ctx.store, job.id).status == "done":
                break
        time.sleep(0.3)
    assert dispatched == [{"job_id": job.id, "host": "local", "kind": "selfplay"}]
    with open_context(home) as ctx:
        done = q.get_job(ctx.store, job.id)
        assert done.status == "done" and done.claimed_by == "host:local", done.error
        (artifact,) = ctx.store.read("SELECT host, path FROM artifacts WHERE job_id = ?", (job.id,))
    assert artifact["host"] == "local" and (home / artifact["path"]).is_file()
    assert not (home / "runs" / str(job.id)).exists(), "its run folder was removed once it was collected"


def test_the_loops_export_runs_on_this_machine_as_a_host_and_is_published_here(home):
    import hashlib
    import json

    from ringrift_testing import run_cli

    (home / "hosts.yaml").write_text("hosts:\n")
    made = run_cli("selfplay", "hex8_2p", "--games", "1", "--sims", "2", "--model", "none", "--seed", "4", "--json")
    assert made.exit_code == 0, made.output
    games_id = json.loads(made.output)["artifact_id"]
    with open_context(home) as ctx:
        store_setting(ctx.store, "loop.selfplay_backlog", 0)
        store_setting(ctx.store, "loop.export_min_games", 1)
    deadline, dispatched, exports = time.monotonic() + 120, [], []
    while time.monotonic() < deadline:
        with open_context(home) as ctx:
            dispatched += run_tick(ctx, time.time()).hosts["dispatched"]
            exports = [job for job in q.list_jobs(ctx.store) if job.kind == "export"]
            if exports and exports[0].status in ("done", "dead"):
                break
        time.sleep(0.3)
    (job,) = exports
    assert job.status == "done" and job.claimed_by == "host:local", job.error
    assert {"job_id": job.id, "host": "local", "kind": "export"} in dispatched
    with open_context(home) as ctx:
        (npz,) = ctx.store.read("SELECT id, host, path, sha256 FROM artifacts WHERE kind = 'npz'")
        inputs = [row[0] for row in ctx.store.read("SELECT input_id FROM artifact_inputs WHERE artifact_id = ?",
                                                   (npz["id"],))]
    assert npz["host"] == "local" and npz["path"] == f"npz/hex8_2p/export-job{job.id}-000.npz" and inputs == [games_id]
    assert hashlib.sha256((home / npz["path"]).read_bytes()).hexdigest() == npz["sha256"]
    assert not (home / "runs" / str(job.id)).exists(), "its run folder was removed once it was published"
    assert job.result["samples"] > 0 and job.result["games_shards_read"] == 1


def test_a_halted_loop_starts_nothing_on_hosts(home):
    from ringrift_testing import run_cli

    (home / "hosts.yaml").write_text("hosts:\n")
    assert run_cli("loop", "halt", "--reason", "maintenance").exit_code == 0
    with open_context(home) as ctx:
        job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={"games": 1, "model": "none"}))
        report = run_tick(ctx, time.time())
        assert report.hosts["dispatched"] == [] and q.get_job(ctx.store, job.id).status == "queued"


def test_an_invalid_hosts_file_is_a_tick_error_in_one_line(home):
    (home / "hosts.yaml").write_text("hosts:\n  - name: -oProxyCommand=x\n    ssh: local\n")
    with open_context(home) as ctx:
        report = run_tick(ctx, time.time())
    assert len(report.errors) == 1 and "hosts.yaml:2" in report.errors[0] and "name" in report.errors[0]
