"""`ringrift loop run` and the tick as real processes: no torch in a tick, Ctrl-C hands jobs back."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from ringrift_cli.context import open_context
from ringrift_testing import PYTHON, sigint_as_at_a_terminal


def test_a_tick_never_imports_torch(home, subprocess_env):
    code = ("import sys; sys.argv = ['ringrift', 'loop', 'tick']\n"
            "from ringrift_cli.cli.app import app\n"
            "try:\n    app(prog_name='ringrift')\nexcept SystemExit as done:\n    assert done.code in (0, None), done.code\n"
            "assert 'torch' not in sys.modules, 'a tick imported torch'\n"
            "assert 'numpy' not in sys.modules, 'a tick imported numpy'\n")
    result = subprocess.run([PYTHON, "-c", code], env=subprocess_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_ctrl_c_stops_loop_run_and_hands_the_running_job_back(home, subprocess_env, tmp_path):
    marker = tmp_path / "started"
    env = {**subprocess_env, "RINGRIFT_PLUGINS": "plugin_slow", "RINGRIFT_TEST_MARKER": str(marker)}
    subprocess.run([PYTHON, "-m", "ringrift_cli", "config", "set", "loop.selfplay_backlog", "1"], env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([PYTHON, "-m", "ringrift_cli", "loop", "run", "--iterations", "50"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=sigint_as_at_a_terminal)
    deadline = time.monotonic() + 90
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the loop's worker never started the job"
    job_id = int(marker.read_text().split()[0])
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C at a terminal reaches the whole process group
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert "handing running jobs back" in out + err
    with open_context(home) as ctx:
        row = ctx.store.read("SELECT status, attempts FROM jobs WHERE id = ?", (job_id,))[0]
    assert (row["status"], row["attempts"]) == ("queued", 0)
    leftover = subprocess.run(["pgrep", "-f", f"ringrift_cli worker --home {home}"], capture_output=True, text=True)
    assert not leftover.stdout.strip(), f"worker processes outlived loop run: {leftover.stdout}"


def test_loop_run_needs_an_end_condition(home):
    from ringrift_testing import run_cli

    result = run_cli("loop", "run")
    assert result.exit_code == 2
    assert "--until-promoted" in result.stderr


def test_loop_run_with_one_iteration_ticks_once_and_starts_no_worker(home):
    from ringrift_testing import run_cli

    result = run_cli("loop", "run", "--iterations", "1", "--json")
    assert result.exit_code == 0, result.output
    summary = __import__("json").loads(result.stdout)
    assert summary["ticks"] == 1 and summary["worker_runs"] == 0
