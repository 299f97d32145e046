"""Two real sshd instances on 127.0.0.1 for the SSH tests, and hosts.yaml files that reach them.

Each server has its own generated host key and port; one generated client key logs in to both as the
current user. Every test gets fresh remote data roots. Nothing is installed here: `.ci/run` installs
openssh-server and rsync, and the tests skip (saying why) where sshd is absent.
"""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringrift_testing import PYTHON, REPO
from sshd_servers import SshServer, keygen, missing_tools, start_sshd, stop


@dataclass(frozen=True)
class SshLab:
    servers: tuple[SshServer, ...]
    client_key: Path
    known_hosts: Path
    ringrift: Path  # a wrapper that runs this checkout's ringrift, the hosts' `command`
    root: Path  # the test's folder: remote data roots and hosts files go here

    def home(self, server: SshServer) -> Path:
        return self.root / f"{server.name}-data"

    def hosts_yaml(self, *, known_hosts: Path | None = None, extra: str = "", name: str = "hosts.yaml") -> Path:
        """A hosts file naming both servers (and ``extra`` appended to each entry)."""
        lines = ["hosts:"]
        for server in self.servers:
            lines += [f"  - name: {server.name}", f"    ssh: root@127.0.0.1:{server.port}",
                      f"    identity_file: {self.client_key}", f"    known_hosts: {known_hosts or self.known_hosts}",
                      f"    home: {self.home(server)}", f"    command: {self.ringrift}"]
            lines += [f"    {line}" for line in extra.splitlines() if line.strip()]
        path = self.root / name
        path.write_text("\n".join(lines) + "\n")
        return path


@pytest.fixture(scope="session")
def ssh_servers(tmp_path_factory):
    """Two sshd on 127.0.0.1, started once for the session and stopped after it."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"SSH tests need {', '.join(missing)} (.ci/run installs openssh-server and rsync)")
    if os.geteuid() != 0 and not Path("/run/sshd").is_dir():
        pytest.skip("SSH tests need /run/sshd (sshd's privilege separation folder); run them as root")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    root = tmp_path_factory.mktemp("sshd")
    keygen(root / "client_key")
    authorized_keys = root / "authorized_keys"
    shutil.copy(root / "client_key.pub", authorized_keys)
    servers = []
    try:
        for name in ("h1", "h2"):
            servers.append(start_sshd(root / name, name, authorized_keys))
        known_hosts = root / "known_hosts"
        known_hosts.write_text("".join(server.known_hosts_line() + "\n" for server in servers))
        ringrift = root / "ringrift"
        # The hosts' `command`: this checkout's ringrift under this Python, whatever PATH sshd gives.
        ringrift.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} exec {shlex.quote(PYTHON)} "
                            "-m ringrift_cli \"$@\"\n")
        ringrift.chmod(0o755)
        yield root, tuple(servers)
    finally:
        stop(servers)


@pytest.fixture
def ssh_lab(ssh_servers, tmp_path) -> SshLab:
    """The two servers, with fresh remote data roots under this test's folder."""
    root, servers = ssh_servers
    lab = SshLab(servers=servers, client_key=root / "client_key", known_hosts=root / "known_hosts",
                 ringrift=root / "ringrift", root=tmp_path)
    for server in servers:
        lab.home(server).mkdir()
    return lab
