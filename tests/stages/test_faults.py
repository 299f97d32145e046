"""Faults in the middle of work: a full disk, a killed export, corrupt temporary and registered files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from ringrift_testing import PYTHON, run_cli
from ringrift_cli.store import queue as q
from ringrift_cli.store.artifacts import list_artifacts


def cli_json(*args):
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MB file system of its own (needs the right to mount a tmpfs: root on Linux)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1536k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()[:80]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_disk_full_mid_selfplay_fails_the_job_at_once_saying_so(small_disk, subprocess_env):
    home = small_disk / "home"
    env = dict(subprocess_env, RINGRIFT_HOME=str(home))
    subprocess.run([PYTHON, "-m", "ringrift_cli", "init"], env=env, check=True, capture_output=True)
    proc = subprocess.run([PYTHON, "-m", "ringrift_cli", "selfplay", "square8_2p", "--games", "400", "--sims", "2",
                           "--model", "none", "--parallel", "8"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "disk full" in proc.stderr, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 3
    conn = sqlite3.connect(home / "queue.db")
    status, error = conn.execute("SELECT status, error FROM jobs").fetchone()
    conn.close()
    if status == "claimed":  # the failure itself could not be written: said so, lease runs out
        assert "returns to the queue when its lease ends" in proc.stderr
    else:
        assert status == "queued" and "disk full" in error


def test_a_corrupt_temporary_games_shard_is_set_aside_by_name(ctx, home):
    job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={"games": 1, "sims": 2,
                                                                           "model": "none"}))
    tmp = home / "runs" / str(job.id) / f"selfplay-job{job.id}.db.tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    assert run_cli("worker", "--kinds", "selfplay").exit_code == 0
    done = q.get_job(ctx.store, job.id)
    assert done.status == "done" and done.attempts == 1, done.error
    assert done.result["set_aside"].endswith(f"selfplay-job{job.id}.db.tmp.corrupt")
    assert (tmp.parent / f"selfplay-job{job.id}.db.tmp.corrupt").exists() and not tmp.exists()


@pytest.fixture
def recorded(home):
    return [cli_json("selfplay", "square8_2p", "--games", "2", "--sims", "8", "--model", "none", "--seed", str(seed))
            for seed in (1, 2)]


@pytest.mark.slow
def test_export_killed_before_registering_leaves_nothing_to_export_twice(ctx, home, recorded, subprocess_env):
    run_cli("config", "set", "queue.lease_seconds", "1")
    proc = subprocess.Popen([PYTHON, "-m", "ringrift_cli", "export", "square8_2p"], env=subprocess_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not q.list_jobs(ctx.store, kind="export", status="claimed"):
        time.sleep(0.01)
    holder = sqlite3.connect(home / "queue.db", isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")  # the export can write its NPZ but not register it
    folder = home / "npz" / "square8_2p"
    while time.time() < deadline and not list(folder.glob("*.npz")):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    holder.execute("ROLLBACK")
    holder.close()
    [orphan] = folder.glob("*.npz")
    time.sleep(1.1)  # the killed export's lease runs out
    again = cli_json("export", "square8_2p")
    assert not orphan.exists()
    registered = [a.path for a in list_artifacts(ctx.store, "square8_2p", "npz")]
    assert sorted(str(p.relative_to(home)) for p in folder.glob("*.npz")) == sorted(registered)
    assert again["games_shards_read"] == 2 and len(registered) == 1


def test_an_impossible_games_shard_with_a_matching_hash_is_quarantined(ctx, home, recorded):
    from ringrift_cli.files import sha256_of

    relative = recorded[0]["path"]
    conn = sqlite3.connect(home / relative)
    conn.execute("UPDATE games SET initial_state = '{\"board\": 7}'")
    conn.commit()
    conn.close()
    with ctx.store.write() as db:
        db.execute("UPDATE artifacts SET sha256 = ?, bytes = ? WHERE path = ?",
                   (sha256_of(home / relative), (home / relative).stat().st_size, relative))
    first = cli_json("export", "square8_2p")
    assert [a["path"] for a in first["set_aside"]] == [relative] and first["games_shards_read"] == 1
    assert cli_json("export", "square8_2p")["shards"] == []  # never read again, never blocks


def test_status_verify_quarantines_a_damaged_npz_shard(ctx, home, recorded):
    shard = cli_json("export", "square8_2p")["shards"][0]
    assert cli_json("status", "--verify")["verified"] == {"checked": 3, "quarantined": []}
    path = home / shard["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    samples_before = cli_json("status")["data"][0]["samples"]
    result = run_cli("status", "--verify", "--json")
    assert result.exit_code == 1
    assert [p["path"] for p in json.loads(result.output)["verified"]["quarantined"]] == [shard["path"]]
    assert samples_before > 0 and cli_json("status")["data"][0]["samples"] == 0
    assert cli_json("status", "--verify")["verified"]["checked"] == 2  # quarantined files are not checked again


def test_a_truncated_file_fails_verification_before_use(ctx, home, recorded):
    from ringrift_cli.store.artifacts import get_artifact
    from ringrift_cli.verify import ArtifactCorrupt, verified_file

    artifact = get_artifact(ctx.store, recorded[0]["artifact_id"])
    assert verified_file(ctx, artifact) == home / artifact.path
    path = home / artifact.path
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ArtifactCorrupt, match="quarantined"):
        verified_file(ctx, artifact)
    assert cli_json("status")["data"][0]["games_shards"] == 1
