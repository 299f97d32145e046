"""Every test runs against its own data root; none ever touches a real one."""

from __future__ import annotations

import pytest

from ringrift_testing import REPO, SUPPORT


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
