"""Help, generated docs, completions, README and the example file stay true."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import click
import pytest
import typer

from ringrift_testing import PYTHON, REPO, run_cli
from ringrift_cli.cli.app import app
from ringrift_cli.cli.completion import completion_script
from ringrift_cli.cli.docs import render_cli_docs, walk
from ringrift_cli.store import SCHEMA_VERSION


def all_commands():
    return list(walk(typer.main.get_command(app), ["ringrift"]))


def test_every_command_and_option_has_help():
    missing = []
    for path, command in all_commands():
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
            if isinstance(param, click.Argument) and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.name}")
    assert missing == []


def test_cli_docs_are_current():
    assert (REPO / "docs" / "cli.md").read_text() == render_cli_docs(), \
        "regenerate with: python -m ringrift_cli.cli.docs > docs/cli.md"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_files_are_current(shell):
    assert (REPO / "completions" / f"ringrift.{shell}").read_text() == completion_script(shell), \
        f"regenerate with: ringrift completion {shell} > completions/ringrift.{shell}"


def test_bash_completion_answers_subcommands(subprocess_env):
    env = {**subprocess_env, "_RINGRIFT_COMPLETE": "complete_bash",
           "COMP_WORDS": "ringrift queue cl", "COMP_CWORD": "2"}
    proc = subprocess.run([PYTHON, "-m", "ringrift_cli"], env=env, capture_output=True, text=True)
    assert proc.stdout.split() == ["claim"]


def test_help_and_version_work_as_a_module(subprocess_env):
    proc = subprocess.run([PYTHON, "-m", "ringrift_cli", "--help"], env=subprocess_env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "queue" in proc.stdout and "status" in proc.stdout
    assert run_cli("--version").output.startswith("ringrift ")


def test_readme_starts_with_run_and_test_commands_and_ci_runs_the_test_command():
    readme = (REPO / "README.md").read_text()
    first_screen = readme.split("\n## ")[0]
    commands = [line for line in first_screen.splitlines() if line.startswith("python -m pip install")]
    assert len(commands) == 2
    run_command, test_command = commands
    assert "ringrift init" in run_command and "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text().splitlines()


def test_example_state_file_has_current_schema(tmp_path):
    source = REPO / "queue.db.example"
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION, \
            "regenerate with: python scripts/make_example_db.py"
    finally:
        conn.close()
    copy = tmp_path / "queue.db.example"
    shutil.copy(source, copy)
    result = run_cli("status", "--home", str(copy), "--json")
    assert result.exit_code == 0, result.output
    assert '"dead"' in result.output and "CUDA out of memory" in result.output


def test_cli_docs_list_each_groups_commands_once():
    for section in render_cli_docs().split("\n## ")[1:]:
        assert section.count("Commands:") <= 1, section.splitlines()[0]
