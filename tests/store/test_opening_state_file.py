"""Opening the state file: commands that only read change nothing; odd files are refused in one line."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from ringrift_testing import REPO, run_cli
from ringrift_cli.store import SCHEMA_VERSION

READERS = [["status"], ["queue", "ls"], ["queue", "show", "1"], ["queue", "dead"], ["config", "show"]]
WRITERS = [["queue", "add", "selfplay", "hex8_2p"], ["queue", "claim", "--worker", "w"], ["queue", "reap"],
           ["config", "set", "queue.max_attempts", "4"], ["worker", "--max-jobs", "1"], ["queue", "cancel", "1"]]


def one_line_refusal(result, *words):
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    for word in words:
        assert word in result.output


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("args", READERS + WRITERS)
def test_an_empty_file_never_becomes_a_state_file(tmp_path, args):
    empty = tmp_path / "empty.db"
    empty.touch()
    one_line_refusal(run_cli(*args, "--home", str(empty)), "empty")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "queue.db").touch()
    one_line_refusal(run_cli(*args, "--home", str(tmp_path / "root")), "empty")
    assert snapshot(tmp_path / "root") == {"queue.db": b""} and empty.read_bytes() == b""


def test_init_refuses_an_empty_file_it_was_pointed_at(tmp_path):
    empty = tmp_path / "notes.db"
    empty.touch()
    one_line_refusal(run_cli("init", "--home", str(empty)), "empty")
    assert snapshot(tmp_path) == {"notes.db": b""}


@pytest.mark.parametrize("version", [0, 1, SCHEMA_VERSION, 99])
@pytest.mark.parametrize("args", READERS[:2] + WRITERS[:2])
def test_a_foreign_sqlite_file_is_refused_unchanged(tmp_path, version, args):
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    result = run_cli(*args, "--home", str(foreign))
    one_line_refusal(result)
    assert "not a ringrift state file" in result.output or "newer" in result.output
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args", [["status"], ["queue", "ls"], ["init"], ["queue", "add", "train", "hex8_2p"]])
def test_odd_home_paths_are_one_line(tmp_path, args):
    regular = tmp_path / "file"
    regular.write_text("x")
    for home in (regular / "below", tmp_path / ("n" * 300), tmp_path / ("d" * 200) / ("e" * 4000)):
        result = run_cli(*args, "--home", str(home))
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, (home, result.output)
    assert snapshot(tmp_path) == {"file": b"x"}


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied_and_read_only_state_file(home):
    (home / "queue.db").chmod(0o444)
    try:
        assert run_cli("queue", "ls").exit_code == 0
        one_line_refusal(run_cli("queue", "add", "train", "hex8_2p"), "read-only")
        home.chmod(0o000)
        one_line_refusal(run_cli("queue", "ls"))
    finally:
        home.chmod(0o755)
        (home / "queue.db").chmod(0o644)


def test_commands_that_read_leave_the_file_byte_for_byte(home):
    run_cli("queue", "add", "train", "hex8_2p")
    for name in ("queue.db-wal", "queue.db-shm"):
        (home / name).unlink(missing_ok=True)  # what a clean shutdown leaves
    before = (home / "queue.db").read_bytes()
    for args in READERS:
        run_cli(*args)
    assert (home / "queue.db").read_bytes() == before


def test_the_shipped_example_is_safe_to_point_at(tmp_path):
    example = tmp_path / "queue.db.example"
    shutil.copyfile(REPO / "queue.db.example", example)
    before = snapshot(tmp_path)
    for args in READERS:
        assert run_cli(*args, "--home", str(example)).exit_code == 0, args
    for args in WRITERS:
        one_line_refusal(run_cli(*args, "--home", str(example)), "example")
    assert snapshot(tmp_path) == before  # not even a -wal or -shm beside it


@pytest.mark.parametrize("plugin", ["", ".x", "a..b", "x y", "-m"])
def test_worker_plugin_names_are_checked(home, plugin):
    one_line_refusal(run_cli("worker", "--plugin", plugin), "plugin")


def test_a_plugin_that_fails_to_load_is_one_line(home, tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("raise RuntimeError('oops')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    one_line_refusal(run_cli("worker", "--plugin", "broken_plugin"), "failed to load", "oops")


@pytest.mark.parametrize("args", [
    ["queue", "claim", "--worker", ""], ["queue", "claim", "--worker", "-rf"], ["queue", "claim", "--worker", "w\n"],
    ["queue", "claim", "--worker", "a b"], ["queue", "claim", "--worker", "w" * 200],
    ["queue", "claim", "--worker", "w", "--host", "h1;reboot"],
    ["queue", "add", "train", "hex8_2p", "--host", "h1\n"], ["queue", "add", "train", "hex8_2p", "--host", "$(id)"],
    ["queue", "add", "train", "hex8_2p", "--host", "-oProxyCommand=x"],
    ["worker", "--name", ""], ["worker", "--name", "x`id`"],
])
def test_worker_names_and_host_pins_are_checked(home, args):
    from ringrift_cli.context import open_context
    from ringrift_cli.store import queue as q

    with open_context() as ctx:
        q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p"))
    before = (home / "queue.db").read_bytes()
    result = run_cli(*args)
    one_line_refusal(result, "not a valid")
    with open_context() as ctx:
        [job] = q.list_jobs(ctx.store)
        assert job.status == "queued" and job.attempts == 0
    assert len(before) > 0
