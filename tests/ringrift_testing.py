"""Shared helpers for the top-level tests (a uniquely named module: tests/game has a conftest too)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUPPORT = Path(__file__).resolve().parent / "support"
PYTHON = sys.executable


def run_cli(*args: str, input: str | None = None):
    """Invoke the CLI in-process; returns click's Result."""
    from typer.testing import CliRunner

    from ringrift_cli.cli.app import app

    return CliRunner().invoke(app, list(args), input=input)


def state_dump(path) -> list[str]:
    """The logical content of a state file (SQL text), read without changing it."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def read_rows(home, sql: str, args=()) -> list[dict]:
    """Rows of a query on the data root's state file, opened read-only (as a script outside would)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{home / 'queue.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql, args)]
    finally:
        conn.close()


def run_on_another_root(home, spec, host_root):
    """What a host does with a spec: its inputs copied under its own data root, `ringrift run-job`
    there, and its outputs brought back here (as collection pulls them). Returns the run's status."""
    import shutil

    from ringrift_cli.runner.spec import write_spec
    from ringrift_cli.runner.status import read_status

    for item in spec.inputs:
        (host_root / item.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(home / item.path, host_root / item.path)
    write_spec(host_root, spec)
    ran = run_cli("run-job", str(host_root / spec.spec_path), "--home", str(host_root))
    assert ran.exit_code == 0, ran.output
    assert not (host_root / "queue.db").exists(), "the run step never opens a state file"
    status = read_status((host_root / spec.run_dir / "status.json").read_text(), spec.job_id)
    for output in status.outputs:
        (home / output.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(host_root / output.path, home / output.path)
    return status


def process_running(pid: int) -> bool:
    """Whether the process is there and not a zombie (killed, but not collected by its parent). Linux."""
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in (b"Z", b"X")


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid``: its children, theirs, and so on. Linux."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_bytes().rsplit(b")", 1)[-1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone while we looked
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {child for child in found if process_running(child)}


def iterate_batches(sources, *, validation: bool, batch_size: int, val_fraction: float, encoder_version: int,
                    policy_size: int, symmetries: tuple = (), rng=None, workers: int = 0):
    """One pass over one side of the split, planned and built as training does."""
    from ringrift_cli.train.dataset import plan_batches
    from ringrift_cli.train.loader import BatchLoader

    plans = plan_batches(sources, validation=validation, batch_size=batch_size, val_fraction=val_fraction,
                         symmetries=symmetries, rng=rng)
    with BatchLoader(sources, [plans], encoder_version=encoder_version, policy_size=policy_size,
                     symmetries=symmetries, workers=workers) as loader:
        yield from loader.next_pass()


def sigint_as_at_a_terminal() -> None:
    """``preexec_fn`` for a process a test sends Ctrl-C: SIGINT's default action, as at a terminal. A
    suite started in the background by a script inherits SIGINT ignored (POSIX shells do that to
    ``cmd &``), and Python then leaves it ignored, so the command would rightly not see the Ctrl-C."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
