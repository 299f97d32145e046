"""`ringrift run-job`: the run step from a spec file alone, its status file, and what a reader refuses."""

from __future__ import annotations

import json
import time

import pytest

from ringrift_cli.files import sha256_of
from ringrift_cli.remote.hosts_file import Host
from ringrift_cli.remote.runs import start_runs
from ringrift_cli.remote.transport import LocalTransport
from ringrift_cli.runner.spec import BadSpec, RunSpec, read_spec, write_spec
from ringrift_cli.runner.status import BadStatus, OutputFile, RunStatus, read_status
from ringrift_testing import run_cli

PARAMS = {"games": 1, "model": "heuristic", "sims": 2, "parallel": 1, "seed": 5, "temperature_plies": 4,
          "dirichlet_fraction": 0.25, "c_puct": 1.5, "device": "cpu", "procs": 1, "gumbel": False}


def spec_in(root, job_id=7, **changes) -> RunSpec:
    spec = RunSpec(job_id, 1, "selfplay", "hex8_2p", {**PARAMS, **changes})
    write_spec(root, spec)
    return spec


def test_run_job_plays_from_the_spec_alone_and_reports_its_outputs(tmp_path):
    root = tmp_path / "host-data"
    spec = spec_in(root)
    result = run_cli("run-job", str(root / spec.spec_path), "--home", str(root), "--json")
    assert result.exit_code == 0, result.output
    status = read_status((root / "runs/7/status.json").read_text(), 7)
    assert status.state == "done" and status.claim_seq == 1 and status.done == status.total == 1
    (output,) = status.outputs
    assert output.path == "runs/7/selfplay-job7.db"
    assert sha256_of(root / output.path) == output.sha256 and (root / output.path).stat().st_size == output.bytes
    assert not (root / "queue.db").exists(), "the run step never opens a state file"
    assert not list((root / "runs/7").glob(".status.*")), "no temporary status file left behind"


def test_a_failed_run_says_why_in_its_status_and_exits_1(tmp_path):
    root = tmp_path / "host-data"
    spec = RunSpec(8, 1, "selfplay", "hex8_2p", {**PARAMS, "sims": "many"})
    write_spec(root, spec)
    result = run_cli("run-job", str(root / spec.spec_path), "--home", str(root))
    assert result.exit_code == 1
    status = json.loads((root / "runs/8/status.json").read_text())
    assert status["state"] == "failed" and status["error"]


def test_a_spec_outside_its_run_folder_or_malformed_is_refused(tmp_path):
    root = tmp_path / "host-data"
    spec = spec_in(root)
    moved = root / "elsewhere.json"
    moved.write_text((root / spec.spec_path).read_text())
    result = run_cli("run-job", str(moved), "--home", str(root))
    assert result.exit_code == 2 and "run folder" in result.output
    raw = json.loads(moved.read_text())
    for bad in ({"kind": "sync"}, {"job_id": -1}, {"inputs": [{"role": "model", "path": "../x", "sha256": "a" * 64}]},
                {"extra": 1}):
        moved.write_text(json.dumps({**raw, **bad}))
        with pytest.raises(BadSpec):
            read_spec(moved)


def status_text(path: str, size: int = 10, job_id: int = 3) -> str:
    return RunStatus(job_id, 1, "done", time.time(), outputs=(OutputFile(path, "b" * 64, size),)).to_json()


@pytest.mark.parametrize("path", ["runs/3/../4/x.db", "runs/4/x.db", "games/x.db", "/abs/x", "runs/3/sub/x.db",
                                  "runs/3/status.json", "-rf", "runs/3/x y.db"])
def test_a_status_naming_a_file_outside_its_run_folder_is_refused(path):
    with pytest.raises(BadStatus):
        read_status(status_text(path), 3)
    assert read_status(status_text("runs/3/x.db"), 3).outputs[0].path == "runs/3/x.db"


@pytest.mark.parametrize("change", [{"job_id": 4}, {"state": "won"}, {"heartbeat_at": "now"}, {"done": -1},
                                    {"outputs": "all"}, {"surprise": 1}])
def test_a_malformed_status_is_refused(change):
    raw = json.loads(status_text("runs/3/x.db"))
    with pytest.raises(BadStatus):
        read_status(json.dumps({**raw, **change}), 3)


def test_a_detached_start_returns_before_the_run_ends(tmp_path):
    root = tmp_path / "host-data"
    spec = spec_in(root, job_id=9, games=2)
    host = Host(name="local", ssh="local", home=str(root))
    with LocalTransport(host) as transport:
        start_runs(transport, str(root), [spec], heartbeat_seconds=0.2)
    status_file = root / "runs/9/status.json"
    assert not status_file.exists() or json.loads(status_file.read_text())["state"] == "running"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if status_file.exists() and json.loads(status_file.read_text())["state"] != "running":
            break
        time.sleep(0.2)
    status = read_status(status_file.read_text(), 9)
    assert status.state == "done" and status.done == 2, (root / "runs/9/log.txt").read_text()[-500:]
