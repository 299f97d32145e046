"""Jobs run on the two real sshd hosts through `loop tick`: dispatched, collected, verified, refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ringrift_cli.context import open_context
from ringrift_cli.files import sha256_of
from ringrift_cli.loop.tick import run_tick
from ringrift_cli.store import queue as q
from ringrift_cli.store.settings import store_setting
from ringrift_testing import process_running, read_rows, run_cli

TINY = {"games": 1, "sims": 2, "parallel": 1, "procs": 1, "model": "none", "seed": 1}
FAST = {"loop.selfplay_backlog": 0, "loop.selfplay_games": 1, "selfplay.simulations": 2, "queue.lease_seconds": 30,
        "queue.backoff_base_seconds": 600, "eval.games": 2, "eval.simulations": 2, "eval.procs": 1}


@pytest.fixture
def lab_home(ssh_lab, home, monkeypatch):
    """The controller's data root, with hosts.yaml naming both servers and small loop settings.
    A selfplay backlog of 0: the loop adds no jobs of its own, the hosts run the tests' jobs."""
    monkeypatch.setenv("RINGRIFT_HOSTS", str(ssh_lab.hosts_yaml()))
    with open_context(home) as ctx:
        for key, value in FAST.items():
            store_setting(ctx.store, key, value)
    return home


def tick(home: Path, now: float | None = None):
    with open_context(home) as ctx:
        report = run_tick(ctx, now or time.time())
    assert not report.errors, report.errors
    return report


def enqueue(home: Path, kind: str, params: dict, host: str | None = None, config: str = "hex8_2p") -> int:
    with open_context(home) as ctx:
        job, _ = q.enqueue(ctx.store, q.JobSpec(kind, config, params=params, host=host, priority=50))
    return job.id


def job_of(home: Path, job_id: int) -> q.Job:
    with open_context(home) as ctx:
        return q.get_job(ctx.store, job_id)


def tick_until(home: Path, done, seconds: float = 120.0, pause: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        tick(home)
        if done():
            return
        time.sleep(pause)
    raise AssertionError(f"not done within {seconds}s: " + json.dumps(read_rows(home, "SELECT id, status, claimed_by, error FROM jobs")))


def wait_for_remote_status(path: Path, seconds: float = 120.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file():
            status = json.loads(path.read_text())
            if status["state"] != "running":
                return status
        time.sleep(0.2)
    raise AssertionError(f"{path} did not finish within {seconds}s")


def test_a_selfplay_job_pinned_to_each_host_is_dispatched_collected_and_registered(ssh_lab, lab_home):
    jobs = {name: enqueue(lab_home, "selfplay", TINY, host=name) for name in ("h1", "h2")}
    tick_until(lab_home, lambda: all(job_of(lab_home, j).status == "done" for j in jobs.values()))
    for name, job_id in jobs.items():
        (artifact,) = read_rows(lab_home, "SELECT * FROM artifacts WHERE job_id = ?", (job_id,))
        assert artifact["host"] == name and artifact["kind"] == "games"
        local = lab_home / artifact["path"]
        assert artifact["path"] == f"games/hex8_2p/selfplay-job{job_id}.db"
        assert sha256_of(local) == artifact["sha256"] and local.stat().st_size == artifact["bytes"]
        remote = ssh_lab.home(next(s for s in ssh_lab.servers if s.name == name)) / "runs" / str(job_id)
        assert not remote.exists(), "collected, then removed from the host"
        assert job_of(lab_home, job_id).result["games"] == 1
    tidied = [json.loads(row["payload"]) for row in read_rows(lab_home, "SELECT payload FROM events"
                                                               " WHERE type = 'runs_tidied'")]
    assert sorted((event["host"], event["removed"]) for event in tidied) == [("h1", [jobs["h1"]]), ("h2", [jobs["h2"]])]
    dispatched = read_rows(lab_home, "SELECT job_id, payload FROM events WHERE type = 'run_dispatched'")
    assert {json.loads(row["payload"])["host"] for row in dispatched} == {"h1", "h2"}
    claims = read_rows(lab_home, "SELECT payload FROM events WHERE type = 'job_claimed'")
    assert {json.loads(row["payload"])["worker"] for row in claims} == {"host:h1", "host:h2"}
    shown = run_cli("status", "--json")
    assert shown.exit_code == 0, shown.output
    hosts = {row["name"]: row for row in json.loads(shown.output)["hosts"]}
    assert {name: (row["health"], row["jobs"]) for name, row in hosts.items()} == {"h1": ("ok", []), "h2": ("ok", [])}
    assert all(row["bytes_moved"] > 0 for row in hosts.values()), "each spec pushed, each shard pulled"
    text = run_cli("status").output
    assert "hosts" in text and "0/1" in text


@pytest.mark.slow
def test_a_train_job_is_pushed_with_its_inputs_and_its_model_registered(ssh_lab, lab_home):
    made = run_cli("selfplay", "hex8_2p", "--games", "2", "--sims", "2", "--model", "none", "--seed", "3", "--json")
    assert made.exit_code == 0, made.output
    exported = run_cli("export", "hex8_2p", "--json")
    assert exported.exit_code == 0, exported.output
    (npz,) = read_rows(lab_home, "SELECT * FROM artifacts WHERE kind = 'npz'")
    job_id = enqueue(lab_home, "train", {"epochs": 1, "preset": "tiny", "from": "scratch", "seed": 2}, host="h2")
    tick_until(lab_home, lambda: job_of(lab_home, job_id).status in ("done", "dead"))
    job = job_of(lab_home, job_id)
    assert job.status == "done", job.error
    h2 = ssh_lab.home(ssh_lab.servers[1])
    assert sha256_of(h2 / npz["path"]) == npz["sha256"], "the shard was pushed to the host, intact"
    (model,) = read_rows(lab_home, "SELECT * FROM artifacts WHERE kind = 'model'")
    assert model["host"] == "h2" and sha256_of(lab_home / model["path"]) == model["sha256"]
    assert read_rows(lab_home, "SELECT id FROM models") == [{"id": model["sha256"]}]
    assert [i["input_id"] for i in read_rows(lab_home, "SELECT input_id FROM artifact_inputs WHERE artifact_id = ?",
                                        (model["id"],))] == [npz["id"]]


@pytest.mark.slow
def test_the_loops_eval_of_a_candidate_runs_on_a_host_and_its_matches_are_recorded_once(ssh_lab, lab_home):
    for args in (("selfplay", "hex8_2p", "--games", "2", "--sims", "2", "--model", "none", "--seed", "3"),
                 ("export", "hex8_2p"),
                 ("train", "hex8_2p", "--epochs", "1", "--preset", "tiny", "--from", "scratch", "--seed", "2")):
        made = run_cli(*args, "--json")
        assert made.exit_code == 0, made.output
    (model,) = read_rows(lab_home, "SELECT id FROM models")

    def evals() -> list[dict]:
        return read_rows(lab_home, "SELECT id, status, claimed_by, error, result FROM jobs WHERE kind = 'eval'")

    tick_until(lab_home, lambda: [job["status"] for job in evals()] in (["done"], ["dead"]))
    (job,) = evals()
    assert job["status"] == "done" and job["claimed_by"] in ("host:h1", "host:h2"), job["error"]
    host = job["claimed_by"].removeprefix("host:")
    matches = read_rows(lab_home, "SELECT game_index, players FROM matches WHERE job_id = ?", (job["id"],))
    opponents = len(json.loads(job["result"])["scores"])
    assert sorted(m["game_index"] for m in matches) == sorted(b * 1_000_000 + i for b in range(opponents)
                                                              for i in range(2))
    assert all(model["id"] in json.loads(m["players"]) for m in matches)
    (shard,) = read_rows(lab_home, "SELECT * FROM artifacts WHERE job_id = ?", (job["id"],))
    assert shard["host"] == host and shard["path"] == f"games/hex8_2p/eval-job{job['id']}.db"
    assert sha256_of(lab_home / shard["path"]) == shard["sha256"]
    remote = ssh_lab.home(next(s for s in ssh_lab.servers if s.name == host))
    (artifact,) = read_rows(lab_home, "SELECT path, sha256 FROM artifacts WHERE kind = 'model'")
    assert sha256_of(remote / artifact["path"]) == artifact["sha256"], "the candidate was pushed to the host"
    assert len(read_rows(lab_home, "SELECT id FROM events WHERE type = 'eval_completed'")) == 1
    tick(lab_home)
    assert len(read_rows(lab_home, "SELECT id FROM matches WHERE job_id = ?", (job["id"],))) == len(matches)


def test_a_byte_flipped_in_a_remote_output_is_refused_and_not_registered(ssh_lab, lab_home):
    job_id = enqueue(lab_home, "selfplay", TINY, host="h1")
    tick(lab_home)
    run_dir = ssh_lab.home(ssh_lab.servers[0]) / "runs" / str(job_id)
    status = wait_for_remote_status(run_dir / "status.json")
    assert status["state"] == "done"
    output = ssh_lab.home(ssh_lab.servers[0]) / status["outputs"][0]["path"]
    data = bytearray(output.read_bytes())
    data[len(data) // 2] ^= 0x01
    output.write_bytes(bytes(data))
    report = tick(lab_home)
    assert [item["job_id"] for item in report.hosts["refused"]] == [job_id]
    assert read_rows(lab_home, "SELECT * FROM artifacts") == []
    assert not (lab_home / "games" / "hex8_2p" / f"selfplay-job{job_id}.db").exists()
    (event,) = read_rows(lab_home, "SELECT payload FROM events WHERE type = 'run_refused'")
    assert "sha256" in json.loads(event["payload"])["reason"]
    job = job_of(lab_home, job_id)
    assert job.status == "queued" and "refused from h1" in job.error


@pytest.mark.parametrize("path", ["games/hex8_2p/elsewhere.db", "runs/{job}/../../queue.db", "/etc/passwd",
                                  "runs/{other}/selfplay.db"])
def test_a_status_naming_an_output_outside_its_run_folder_is_refused(ssh_lab, lab_home, path):
    job_id = enqueue(lab_home, "selfplay", TINY, host="h1")
    tick(lab_home)
    status_file = ssh_lab.home(ssh_lab.servers[0]) / "runs" / str(job_id) / "status.json"
    status = wait_for_remote_status(status_file)
    status["outputs"][0]["path"] = path.format(job=job_id, other=job_id + 1)
    status_file.write_text(json.dumps(status))
    report = tick(lab_home)
    assert [item["job_id"] for item in report.hosts["refused"]] == [job_id]
    assert "outside its run folder" in report.hosts["refused"][0]["reason"] \
        or "not a plain relative path" in report.hosts["refused"][0]["reason"]
    assert read_rows(lab_home, "SELECT * FROM artifacts") == []
    assert len(read_rows(lab_home, "SELECT id FROM events WHERE type = 'run_refused'")) == 1


@pytest.fixture
def own_servers(ssh_servers, tmp_path):
    """Two sshd of this test's own (one gets killed and restarted), trusting the session's client key."""
    from sshd_servers import start_sshd

    root, _ = ssh_servers
    servers = [start_sshd(tmp_path / f"own-{name}", name, root / "authorized_keys") for name in ("h1", "h2")]
    known_hosts = tmp_path / "own_known_hosts"
    known_hosts.write_text("".join(server.known_hosts_line() + "\n" for server in servers))
    processes = [server.process for server in servers]
    try:
        yield servers, known_hosts, processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def restart_sshd(server) -> subprocess.Popen:
    """The same sshd again: same config, port and host key."""
    from sshd_servers import SSHD, _wait_listening

    folder = server.folder
    process = subprocess.Popen([SSHD, "-D", "-f", str(folder / "sshd_config"), "-E", str(folder / "sshd.log")])
    _wait_listening(server.port, process, folder / "sshd.log")
    return process


@pytest.mark.slow
def test_a_host_whose_sshd_dies_mid_job_trips_its_breaker_and_its_job_finishes_elsewhere(
        ssh_lab, own_servers, home, monkeypatch):
    servers, known_hosts, processes = own_servers
    lab = type(ssh_lab)(servers=tuple(servers), client_key=ssh_lab.client_key, known_hosts=known_hosts,
                        ringrift=ssh_lab.ringrift, root=ssh_lab.root)
    # h1's runs stall (a wrapper that sleeps before run-job starts), so its run is still going when
    # h1 comes back: it must be stopped then, and its folder removed, its job being done elsewhere.
    stalling = ssh_lab.root / "stalling-ringrift"
    stalling.write_text(f"#!/bin/sh\n[ \"$1\" = run-job ] && sleep 600\nexec {ssh_lab.ringrift} \"$@\"\n")
    stalling.chmod(0o755)
    hosts_file = lab.hosts_yaml(name="own.yaml")
    hosts_file.write_text(hosts_file.read_text().replace(f"command: {ssh_lab.ringrift}", f"command: {stalling}", 1))
    monkeypatch.setenv("RINGRIFT_HOSTS", str(hosts_file))
    with open_context(home) as ctx:
        for key, value in {**FAST, "queue.lease_seconds": 6, "queue.backoff_base_seconds": 0,
                           "breaker.failures": 1, "breaker.cooldown_seconds": 2}.items():
            store_setting(ctx.store, key, value)
    job_id = enqueue(home, "selfplay", TINY)
    first = tick(home)
    assert first.hosts["dispatched"] == [{"job_id": job_id, "host": "h1", "kind": "selfplay"}]
    stale_dir = lab.home(servers[0]) / "runs" / str(job_id)
    stale = json.loads((stale_dir / "run.pid").read_text())
    try:
        processes[0].kill()  # h1's sshd dies; the run it started goes on, out of reach
        processes[0].wait()
        assert stale["claim_seq"] == 1 and process_running(stale["pid"])
        come_back_after_the_job_finished_elsewhere(home, job_id, servers, processes)
        assert not process_running(stale["pid"]), "the stale run was stopped once h1 answered again"
        assert not stale_dir.exists(), "and its folder removed"
        tidied = [json.loads(row["payload"]) for row in read_rows(home, "SELECT payload FROM events"
                                                                   " WHERE type = 'runs_tidied'")]
        assert {"host": "h1", "stopped": [job_id], "removed": [job_id]} in tidied
    finally:
        try:
            os.killpg(stale["pid"], signal.SIGKILL)
        except OSError:
            pass


def come_back_after_the_job_finished_elsewhere(home, job_id, servers, processes):
    """Tick until the job is done on h2 (h1's breaker open meanwhile), then restart h1's sshd and
    tick until h1's breaker closes."""
    tick_until(home, lambda: job_of(home, job_id).status == "done", seconds=90)
    (artifact,) = read_rows(home, "SELECT host FROM artifacts WHERE job_id = ?", (job_id,))
    assert artifact["host"] == "h2", "finished on the host that still answers"
    types = [row["type"] for row in read_rows(home, "SELECT type FROM events WHERE job_id = ? OR job_id IS NULL"
                                                " ORDER BY id", (job_id,))]
    assert "job_lease_expired" in types
    opened = [json.loads(row["payload"]) for row in read_rows(home, "SELECT payload FROM events"
                                                                 " WHERE type = 'breaker_opened'")]
    assert "host:h1" in {event["scope"] for event in opened} and "host:h2" not in {e["scope"] for e in opened}
    (breaker,) = read_rows(home, "SELECT state FROM breakers WHERE scope = 'host:h1'")
    assert breaker["state"] == "open"

    processes[0] = restart_sshd(servers[0])
    time.sleep(2)  # the cool-down
    tick_until(home, lambda: read_rows(home, "SELECT state FROM breakers WHERE scope = 'host:h1'")[0]["state"]
               == "closed", seconds=60)
    closed = [json.loads(row["payload"]) for row in read_rows(home, "SELECT payload FROM events"
                                                                 " WHERE type = 'breaker_closed'")]
    assert {"scope": "host:h1"} in closed


def test_a_status_reporting_the_wrong_size_is_refused(ssh_lab, lab_home):
    job_id = enqueue(lab_home, "selfplay", TINY, host="h2")
    tick(lab_home)
    status_file = ssh_lab.home(ssh_lab.servers[1]) / "runs" / str(job_id) / "status.json"
    status = wait_for_remote_status(status_file)
    status["outputs"][0]["bytes"] += 1
    status_file.write_text(json.dumps(status))
    report = tick(lab_home)
    assert [item["job_id"] for item in report.hosts["refused"]] == [job_id]
    assert "bytes" in report.hosts["refused"][0]["reason"]
    assert read_rows(lab_home, "SELECT * FROM artifacts") == []
