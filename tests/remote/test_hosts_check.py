"""`ringrift hosts check` against the two real sshd hosts (and local hosts for the refusals)."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from ringrift_testing import run_cli
from ringrift_cli.remote.machine import BadDescription, describe_machine, read_description


def hosts_rows(home):
    conn = sqlite3.connect(home / "queue.db")
    conn.row_factory = sqlite3.Row
    try:
        hosts = {row["name"]: dict(row) for row in conn.execute("SELECT * FROM hosts")}
        events = [json.loads(row[0]) for row in conn.execute(
            "SELECT payload FROM events WHERE type = 'host_health_changed' ORDER BY id")]
        return hosts, events
    finally:
        conn.close()


def test_check_probes_both_hosts_and_records_their_health(ssh_lab, home):
    path = ssh_lab.hosts_yaml()
    result = run_cli("hosts", "check", "--hosts", str(path), "--json")
    assert result.exit_code == 0, result.output
    reports = {report["host"]: report for report in json.loads(result.output)}
    assert set(reports) == {"h1", "h2"}
    for report in reports.values():
        assert report["health"] == "ok" and report["reason"] is None and report["latency_ms"] > 0
        facts = report["facts"]
        assert facts["ringrift"] == "0.1.0" and facts["torch"] and facts["free_disk_bytes"] > 0
    rows, events = hosts_rows(home)
    assert {name: row["health"] for name, row in rows.items()} == {"h1": "ok", "h2": "ok"}
    assert all(row["last_seen"] and row["ssh"].startswith("root@127.0.0.1:") for row in rows.values())
    assert sorted(event["host"] for event in events) == ["h1", "h2"]

    result = run_cli("hosts", "check", "h2", "--hosts", str(path))
    assert result.exit_code == 0 and "h2" in result.output and "ok" in result.output
    assert len(hosts_rows(home)[1]) == 2, "an unchanged health appends no event"
    assert run_cli("hosts", "check", "h3", "--hosts", str(path)).exit_code == 2


def test_unknown_host_key_makes_the_host_unreachable_with_the_reason(ssh_lab, home, tmp_path):
    good = ssh_lab.hosts_yaml()
    assert run_cli("hosts", "check", "h1", "--hosts", str(good)).exit_code == 0
    seen = hosts_rows(home)[0]["h1"]["last_seen"]
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    result = run_cli("hosts", "check", "h1", "--hosts", str(ssh_lab.hosts_yaml(known_hosts=empty, name="bad.yaml")),
                     "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    report = json.loads(result.output)[0]
    assert report["health"] == "unreachable" and "host key" in report["reason"] and "unknown" in report["reason"]
    rows, events = hosts_rows(home)
    assert rows["h1"]["health"] == "unreachable" and rows["h1"]["last_seen"] == seen
    assert events[-1]["previous"] == "ok" and "host key" in events[-1]["reason"]


def test_a_host_with_another_ringrift_or_none_is_unusable(home, tmp_path):
    from ringrift_testing import PYTHON, REPO

    real = tmp_path / "real"
    real.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {PYTHON} -m ringrift_cli \"$@\"\n")
    old = tmp_path / "old"
    old.write_text("#!/bin/sh\necho ringrift 0.0.1\n")
    other_encoder = tmp_path / "other_encoder"
    other_encoder.write_text(f"#!/bin/sh\n{real} \"$@\" | sed 's/\"encoder_version\": [0-9]*/\"encoder_version\": 99/'\n")
    for script in (real, old, other_encoder):
        script.chmod(0o755)
    path = tmp_path / "hosts.yaml"
    path.write_text(
        "hosts:\n"
        f"  - {{name: old, ssh: local, command: {old}}}\n"
        f"  - {{name: encoder, ssh: local, command: {other_encoder}}}\n"
        "  - {name: gone, ssh: local, command: /nonexistent/ringrift}\n"
        f"  - {{name: folder, ssh: local, command: {tmp_path}}}\n"
        f"  - {{name: full, ssh: local, command: {real}, min_free_gb: 1000000}}\n")
    result = run_cli("hosts", "check", "--hosts", str(path), "--json")
    assert result.exit_code == 1, result.output
    reports = {report["host"]: report for report in json.loads(result.output)}
    assert {name: report["health"] for name, report in reports.items()} == {
        "old": "unusable", "encoder": "unusable", "gone": "unusable", "folder": "unusable", "full": "low_disk"}
    assert "'ringrift 0.0.1'" in reports["old"]["reason"]
    from ringrift_cli.ai.encoding import ENCODER_VERSION

    assert f"encoder version 99, this controller {ENCODER_VERSION}" in reports["encoder"]["reason"]
    assert "exit 127" in reports["gone"]["reason"] and "exit 126" in reports["folder"]["reason"]
    assert "below its min_free_gb 1000000" in reports["full"]["reason"]
    rows = hosts_rows(home)[0]
    assert rows["old"]["health"] == "unusable" and rows["old"]["last_seen"] is not None


def test_description_round_trips_and_junk_is_refused(tmp_path):
    import torch

    facts = describe_machine(tmp_path / "not-yet")
    assert read_description(facts.to_json()) == facts
    assert (facts.torch, facts.cuda) == (torch.__version__, torch.version.cuda)
    good = json.loads(facts.to_json())
    for junk in ["[]", "{", json.dumps({**good, "extra": 1}), json.dumps({**good, "gpus": ["x" * 500]}),
                 json.dumps({**good, "schema_version": "1"}), json.dumps({**good, "cpus": True}),
                 json.dumps({**good, "free_disk_bytes": -5}), "x" * 70_000]:
        with pytest.raises(BadDescription):
            read_description(junk)


def test_a_host_nobody_answers_on_is_unreachable(ssh_lab, home):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    path = ssh_lab.hosts_yaml()
    path.write_text(path.read_text().replace(f":{ssh_lab.servers[1].port}", f":{closed}"))
    result = run_cli("hosts", "check", "--hosts", str(path), "--json")
    assert result.exit_code == 1
    reports = {report["host"]: report for report in json.loads(result.output)}
    assert reports["h1"]["health"] == "ok"
    assert reports["h2"]["health"] == "unreachable" and f"cannot reach root@127.0.0.1:{closed}" in reports["h2"]["reason"]
    assert hosts_rows(home)[0]["h2"]["last_seen"] is None


def test_gpu_names_come_from_nvidia_smi(tmp_path, monkeypatch):
    # No GPU here: a stand-in nvidia-smi answers the one query the probe makes.
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n[ \"$1\" = --query-gpu=name ] && [ \"$2\" = --format=csv,noheader ] || exit 9\n"
                    "printf 'NVIDIA H100 80GB HBM3\\nNVIDIA H100 80GB HBM3\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    assert describe_machine(tmp_path).gpus == ["NVIDIA H100 80GB HBM3"] * 2
