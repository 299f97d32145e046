"""The one error boundary: user mistakes exit 2 in one line, bugs exit 1 naming a crash log."""

from __future__ import annotations

import json
import subprocess

import pytest

from ringrift_testing import PYTHON, run_cli, state_dump
from ringrift_cli.store import queue as q


def test_an_unexpected_error_names_a_crash_log_holding_the_traceback(home, tmp_path, monkeypatch):
    monkeypatch.setenv("RINGRIFT_CRASH_DIR", str(tmp_path / "crashes"))

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(q, "list_jobs", broken)
    result = run_cli("queue", "ls")
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    [log] = (tmp_path / "crashes").iterdir()
    assert str(log) in line and "ZeroDivisionError: a bug" in line
    assert "Traceback" in log.read_text() and "ZeroDivisionError" in log.read_text()


def test_debug_prints_the_traceback(home, tmp_path, monkeypatch):
    monkeypatch.setenv("RINGRIFT_CRASH_DIR", str(tmp_path / "crashes"))
    monkeypatch.setenv("RINGRIFT_DEBUG", "1")
    monkeypatch.setattr(q, "list_jobs", lambda *a, **k: 1 / 0)
    result = run_cli("queue", "ls")
    assert result.exit_code == 1 and "Traceback" in result.output


def test_a_usage_mistake_is_one_line_in_a_real_process(home, subprocess_env):
    proc = subprocess.run([PYTHON, "-m", "ringrift_cli", "queue", "ls", "--limit", "zero"], env=subprocess_env,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: Invalid value for '--limit'") and "queue ls --help" in proc.stderr


@pytest.mark.parametrize("result", ["[" * 5000 + "]" * 5000, '{"a": ' + "[" * 3000 + "]" * 3000 + "}",
                                    '{"n": ' + "9" * 5000 + "}", '{"x": 1e999}', '{"x": Infinity}',
                                    '{"x": -NaN}', "{}" + " " * (17 * 2**20)])
def test_hostile_results_are_refused_and_change_nothing(home, result):
    with __import__("ringrift_cli.context", fromlist=["open_context"]).open_context() as ctx:
        q.enqueue(ctx.store, q.JobSpec("train", "hex8_2p"))
        job = q.claim(ctx.store, "w", ("train",))
    before = state_dump(home / "queue.db")
    refused = run_cli("queue", "complete", str(job.id), "--worker", "w", "--claim", "1", "--result", result)
    assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1, refused.output[:300]
    assert state_dump(home / "queue.db") == before


def test_a_stored_row_no_reader_accepts_is_buried_and_the_next_job_claimed(ctx):
    first, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p"))
    second, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p"))
    with ctx.store.write() as conn:  # as an older ringrift could store it
        conn.execute("UPDATE jobs SET params = ? WHERE id = ?", ('{"games": ' + "[" * 2000 + "]" * 2000 + "}",
                                                                 first.id))
    claimed = run_cli("queue", "claim", "--worker", "w", "--json")
    assert claimed.exit_code == 0 and json.loads(claimed.output)["id"] == second.id
    assert json.loads(claimed.output)["claim_seq"] == 1
    dead = q.get_job(ctx.store, first.id)
    assert dead.status == "dead" and "nests more than" in dead.error


def test_a_handler_result_too_deep_fails_the_job_not_the_worker(ctx):
    from ringrift_cli.runner.worker import run_worker

    job, _ = q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", max_attempts=1))
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    report = run_worker(ctx, {"selfplay": lambda job, c: {"deep": deep}}, worker="w", kinds=("selfplay",))
    assert report.failed == [job.id] and "levels deep" in q.get_job(ctx.store, job.id).error


def test_deeply_nested_yaml_is_one_line(home, tmp_path):
    deep = "a: " + "[" * 3000 + "\n"
    (home / "ringrift.yaml").write_text(deep)
    assert run_cli("config", "show").exit_code == 2
    (tmp_path / "hosts.yaml").write_text(deep)
    result = run_cli("hosts", "ls", "--hosts", str(tmp_path / "hosts.yaml"))
    assert result.exit_code == 2 and "nested too deeply" in result.output


def test_control_characters_in_a_value_never_split_the_error_line(tmp_path):
    result = run_cli("status", "--home", str(tmp_path / "a\nb\rc"))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1 and "a\\nb\\rc" in result.stderr


def test_an_argument_that_is_not_utf8_is_one_line(home):
    result = run_cli("queue", "add", "train", "hex8_2p", "--dedup", "\udcff")
    assert result.exit_code == 2 and "not valid UTF-8" in result.stderr


@pytest.mark.parametrize("command", [["queue", "ls", "--json", "--limit", "3000"], ["loop", "tick", "--dry-run"],
                                     ["queue", "ls", "--limit", "3000"]])
def test_a_reader_that_goes_away_is_no_crash(home, subprocess_env, tmp_path, command):
    """`ringrift ... | head`: the closed pipe ends the command quietly, with no crash log."""
    with _store(home) as store:
        with store.write() as conn:
            for i in range(3000):
                q.enqueue_in(conn, q.JobSpec("export", "hex8_2p", dedup_key=f"k{i}"), q.default_policy())
    env = {**subprocess_env, "RINGRIFT_CRASH_DIR": str(tmp_path / "crashes")}
    proc = subprocess.Popen([PYTHON, "-m", "ringrift_cli", *command], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 1)
    assert "internal error" not in stderr and "Traceback" not in stderr
    assert not (tmp_path / "crashes").exists() or not list((tmp_path / "crashes").iterdir())


def _store(home):
    from ringrift_cli.context import open_context

    return open_context(home).store
