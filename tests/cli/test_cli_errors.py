"""Bad input anywhere: exit 2, one clear line, no traceback, nothing changed in the file."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest

from ringrift_testing import PYTHON, run_cli, state_dump
from ringrift_cli.store import queue as q


def assert_clean_refusal(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output


@pytest.fixture
def claimed_job(home):
    from ringrift_cli.context import open_context

    with open_context() as ctx:
        q.enqueue(ctx.store, q.JobSpec("train", "hex8_2p"))
        return q.claim(ctx.store, "w1", ("train",), ctx.queue_policy())


@pytest.mark.parametrize("args, words", [
    (["queue", "add", "dance", "hex8_2p"], ["unknown job kind", "selfplay, sync"]),
    (["queue", "add", "train", "hex9_2p"], ["unknown config key", "hexagonal_4p"]),
    (["queue", "add", "train", "square8_5p"], ["unknown config key"]),
    (["queue", "add", "train", "hex8_2p", "--param", "games"], ["malformed --param"]),
    (["queue", "add", "train", "hex8_2p", "--param", "=3"], ["malformed --param"]),
    (["queue", "add", "train", "hex8_2p", "--priority", "-3"], ["--priority", "0 or more"]),
    (["queue", "add", "train", "hex8_2p", "--max-attempts", "0"], ["--max-attempts", "from 1 to 100"]),
    (["queue", "complete", "1", "--worker", "w1", "--claim", "1", "--result", "{not json"], ["not valid JSON"]),
    (["queue", "complete", "1", "--worker", "w1", "--claim", "1", "--result", "[1, 2]"], ["JSON object"]),
    (["queue", "complete", "1", "--worker", "intruder", "--claim", "1"], ["no longer held"]),
    (["queue", "complete", "1", "--worker", "w1"], ["Missing option '--claim'"]),
    (["queue", "heartbeat", "1", "--worker", "w1"], ["Missing option '--claim'"]),
    (["queue", "fail", "1", "--worker", "w1", "--error", "x"], ["Missing option '--claim'"]),
    (["queue", "heartbeat", "1", "--worker", "w1", "--claim", "7"], ["no longer held"]),
    (["queue", "fail", "99", "--worker", "w1", "--claim", "1", "--error", "x"], ["no job 99"]),
    (["queue", "ls", "--status", "sleeping"], ["unknown status"]),
    (["queue", "ls", "--kind", "dance"], ["unknown job kind"]),
    (["queue", "claim", "--worker", "w", "--kinds", "train,dance"], ["unknown job kind"]),
    (["queue", "purge", "--older-than", "7d"], ["--done"]),
    (["queue", "purge", "--done", "--older-than", "soon"], ["cannot read duration"]),
    (["queue", "retry", "1"], ["only dead or cancelled"]),
    (["config", "set", "queue.max_attempts", "zero"], ["whole number"]),
    (["config", "set", "queue.max_attempts", "0"], ["at least 1"]),
    (["config", "set", "queue.lease_seconds", "nan"], ["a number"]),
    (["config", "set", "no.such.key", "1"], ["unknown setting"]),
    (["queue", "show", str(2**70)], ["Invalid value"]),
    (["queue", "add", "train", "hex8_2p", "--priority", str(2**70)], ["Invalid value"]),
    (["queue", "add", "train", "hex8_2p", "--max-attempts", "1000"], ["Invalid value"]),
    (["queue", "claim", "--worker", "w", "--lease", "1e309"], ["Invalid value"]),
    (["queue", "claim", "--worker", "w", "--lease", "nan"], ["lease must be"]),
    (["queue", "heartbeat", "1", "--worker", "w1", "--claim", "1", "--lease", "1e12"], ["Invalid value"]),
    (["queue", "complete", "1", "--worker", "w1", "--claim", "1", "--result", '{"a": NaN}'], ["not valid JSON"]),
])
def test_bad_input_exits_2_and_changes_nothing(home, claimed_job, args, words):
    before = state_dump(home / "queue.db")
    assert_clean_refusal(run_cli(*args), *words)
    assert state_dump(home / "queue.db") == before


def test_missing_home_is_a_clear_error(tmp_path):
    assert_clean_refusal(run_cli("status", "--home", str(tmp_path / "nowhere")), "ringrift init")
    assert not (tmp_path / "nowhere").exists()


def test_file_that_is_not_sqlite_is_refused(tmp_path):
    bogus = tmp_path / "home"
    bogus.mkdir()
    (bogus / "queue.db").write_bytes(b"this is a text file, not a database\n" * 100)
    before = (bogus / "queue.db").read_bytes()
    assert_clean_refusal(run_cli("queue", "ls", "--home", str(bogus)), "not a ringrift state file")
    assert (bogus / "queue.db").read_bytes() == before


def test_unreadable_state_file_is_refused(tmp_path):
    odd = tmp_path / "home"
    (odd / "queue.db").mkdir(parents=True)  # a directory where the file should be
    assert_clean_refusal(run_cli("status", "--home", str(odd)), "not a file")


def test_locked_state_file_is_refused_after_busy_timeout(home, monkeypatch):
    monkeypatch.setenv("RINGRIFT_BUSY_TIMEOUT_MS", "200")
    before = state_dump(home / "queue.db")
    holder = sqlite3.connect(home / "queue.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert_clean_refusal(run_cli("queue", "add", "train", "hex8_2p"), "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert state_dump(home / "queue.db") == before


def test_real_process_prints_one_line_without_traceback(home, subprocess_env):
    proc = subprocess.run([PYTHON, "-m", "ringrift_cli", "queue", "add", "train", "nothex_2p"],
                          env=subprocess_env, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: unknown config key")


def test_claim_exits_3_when_no_job(home):
    result = run_cli("queue", "claim", "--worker", "w", "--json")
    assert result.exit_code == 3 and result.output == ""


def test_init_on_a_file_that_is_not_a_state_file_creates_nothing(tmp_path):
    stray = tmp_path / "notes.txt"
    stray.write_text("hello\n")
    assert_clean_refusal(run_cli("init", "--home", str(stray)), "not a ringrift state file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
