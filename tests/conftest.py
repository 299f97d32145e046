"""Every test runs against its own data root; none ever touches a real one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUPPORT = Path(__file__).resolve().parent / "support"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "ringrift-home"
    monkeypatch.setenv("RINGRIFT_HOME", str(home))
    monkeypatch.delenv("RINGRIFT_HOSTS", raising=False)
    monkeypatch.delenv("RINGRIFT_PLUGINS", raising=False)
    monkeypatch.delenv("RINGRIFT_BUSY_TIMEOUT_MS", raising=False)
    return home


@pytest.fixture
def home(isolated_home):
    """An initialised data root."""
    from ringrift_cli.cli.init import init

    init(home=None, json_output=False)
    return isolated_home


@pytest.fixture
def ctx(home):
    from ringrift_cli.context import open_context

    with open_context(home) as context:
        yield context


@pytest.fixture
def store(ctx):
    return ctx.store


@pytest.fixture
def subprocess_env(isolated_home):
    """Environment for child processes: this checkout and tests/support importable."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(SUPPORT), env.get("PYTHONPATH", "")])
    env["RINGRIFT_HOME"] = str(isolated_home)
    return env


def run_cli(*args: str, input: str | None = None):
    """Invoke the CLI in-process; returns click's Result."""
    from typer.testing import CliRunner

    from ringrift_cli.cli.app import app

    return CliRunner().invoke(app, list(args), input=input)


PYTHON = sys.executable
