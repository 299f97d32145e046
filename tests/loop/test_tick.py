"""Ticks against a real state file: idempotence, the lock, dry runs, halts, a full disk, kill -9."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from ringrift_cli.context import open_context
from ringrift_cli.loop.tick import run_tick
from ringrift_cli.settings import default_of
from ringrift_cli.store.loop_state import take_lock
from ringrift_cli.store.settings import store_setting
from ringrift_testing import run_cli

NOW = 1_800_000_000.0
BACKLOG = default_of("loop.selfplay_backlog")


def loop_jobs(store):
    return store.read("SELECT kind, config_key, dedup_key, status FROM jobs WHERE dedup_key LIKE 'loop:%'")


def test_a_tick_fills_the_backlog_and_a_repeat_tick_adds_nothing(ctx):
    first = run_tick(ctx, NOW, free=1000)
    assert first.ran and first.tick_id == 1
    assert len(loop_jobs(ctx.store)) == BACKLOG
    second = run_tick(ctx, NOW + 60, free=1000)
    assert not [a for a in second.actions if a["action"] == "enqueue"]
    assert len(loop_jobs(ctx.store)) == BACKLOG
    ticks = ctx.store.read("SELECT count(*) AS n FROM ticks")[0]["n"]
    events = ctx.store.read("SELECT count(*) AS n FROM events WHERE type = 'tick_completed'")[0]["n"]
    assert ticks == events == 2


def test_dry_run_writes_nothing_at_all(home, ctx):
    run_tick(ctx, NOW, free=1000)
    ctx.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = sorted(p for p in home.iterdir() if p.name.startswith("queue.db"))
    before = {p.name: p.read_bytes() for p in files}
    result = run_cli("loop", "tick", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert '"dry_run": true' in result.output
    after = {p.name: p.read_bytes() for p in sorted(home.iterdir()) if p.name.startswith("queue.db")}
    assert after == before


def test_a_second_tick_exits_0_while_the_lock_is_held(ctx):
    holder = f"{socket.gethostname()}:{os.getpid()}:other"
    assert take_lock(ctx.store, "tick", holder, time.time(), 600) is not None
    result = run_cli("loop", "tick")
    assert result.exit_code == 0
    assert "another tick is running" in result.output
    assert not loop_jobs(ctx.store)


def test_the_lock_of_a_dead_holder_is_taken_over(ctx):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    take_lock(ctx.store, "tick", f"{socket.gethostname()}:{dead.pid}:gone", NOW, 600)
    assert run_tick(ctx, NOW + 1, free=1000).ran


def test_the_lock_of_another_host_waits_for_its_expiry(ctx):
    take_lock(ctx.store, "tick", "elsewhere:123:x", NOW, 600)
    assert not run_tick(ctx, NOW + 599, free=1000).ran
    assert run_tick(ctx, NOW + 601, free=1000).ran


def test_a_full_disk_stops_selfplay_until_space_is_back(ctx):
    hard = default_of("backpressure.free_gb_hard")
    full = run_tick(ctx, NOW, free=hard / 2)
    assert full.pressure == "hard" and not loop_jobs(ctx.store)
    assert any(w.stage == "selfplay" and "free GB" in w.reason for w in full.waits)
    run_tick(ctx, NOW + 60, free=hard * 100)
    assert len(loop_jobs(ctx.store)) == BACKLOG


def test_halt_stops_new_work_and_status_says_why(home):
    result = run_cli("loop", "halt", "--reason", "disk swap")
    assert result.exit_code == 0
    tick = run_cli("loop", "tick", "--json")
    assert tick.exit_code == 0 and '"action": "enqueue"' not in tick.output
    status = run_cli("loop", "status")
    assert "halted since" in status.output and "disk swap" in status.output
    assert run_cli("loop", "resume").exit_code == 0
    assert '"action": "enqueue"' in run_cli("loop", "tick", "--json").output


def test_reaping_happens_in_the_tick(ctx):
    from ringrift_cli.store.queue import JobSpec, claim, enqueue

    enqueue(ctx.store, JobSpec(kind="export", config_key="hex8_2p"))
    job = claim(ctx.store, "w", ("export",), lease_seconds=5)
    report = run_tick(ctx, job.lease_until + 1, free=1000)
    assert report.reaped == 1
    assert ctx.store.read("SELECT status FROM jobs WHERE id = ?", (job.id,))[0]["status"] == "queued"


@pytest.mark.slow
def test_a_tick_killed_at_random_points_never_does_work_twice(home, subprocess_env):
    """kill -9 mid-tick, then a normal tick: the backlog is exact and every tick row is whole."""
    store_setting_home(home, "loop.configs", "hex8_2p,square8_2p,hex8_3p")
    rng = random.Random(5)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-m", "ringrift_cli", "loop", "tick"], env=subprocess_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with open_context(home) as ctx:
            report = run_tick(ctx, time.time(), free=1000)
            assert report.ran
            keys = [row["dedup_key"] for row in loop_jobs(ctx.store) if row["status"] == "queued"]
            assert len(keys) == len(set(keys)) == BACKLOG
            ticks = ctx.store.read("SELECT count(*) AS n FROM ticks")[0]["n"]
            completed = ctx.store.read("SELECT count(*) AS n FROM events WHERE type = 'tick_completed'")[0]["n"]
            assert ticks == completed


def store_setting_home(home, key, value):
    with open_context(home) as ctx:
        store_setting(ctx.store, key, value)


def test_units_name_the_data_root_and_pass_systemd_analyze(home, tmp_path):
    result = run_cli("loop", "units", "--home", str(home), "--workdir", str(tmp_path))
    assert result.exit_code == 0
    assert f"loop tick --home {home}" in result.output
    assert "flock -n" in result.output
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs it)")
    from ringrift_cli.loop.units import unit_files

    for unit in unit_files(home, [sys.executable, "-m", "ringrift_cli"], tmp_path):
        (tmp_path / unit.name).write_text(unit.text)
    names = [str(tmp_path / u) for u in ("ringrift-tick.service", "ringrift-tick.timer", "ringrift-worker.service")]
    check = subprocess.run([analyze, "verify", *names], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Unknown" not in check.stdout + check.stderr


def test_shipped_unit_files_are_the_generated_ones():
    from pathlib import Path

    from ringrift_cli.loop.units import DEFAULTS, unit_files

    shipped = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
    for unit in unit_files(*DEFAULTS):
        assert (shipped / unit.name).read_text() == unit.text, f"regenerate deploy/systemd/{unit.name}"


@pytest.mark.slow
def test_two_ticks_started_together_both_exit_0_and_do_the_work_once(home, subprocess_env):
    store_setting_home(home, "loop.configs", "hex8_2p,square8_2p")
    for _ in range(3):
        procs = [subprocess.Popen([sys.executable, "-m", "ringrift_cli", "loop", "tick"], env=subprocess_env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [proc.communicate(timeout=60) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outputs
        with open_context(home) as ctx:
            keys = [row["dedup_key"] for row in loop_jobs(ctx.store)]
            assert len(keys) == len(set(keys)) == BACKLOG
