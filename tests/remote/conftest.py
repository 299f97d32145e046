"""Two real sshd instances on 127.0.0.1 for the SSH tests, and hosts.yaml files that reach them.

Each server has its own generated host key and port; one generated client key logs in to both as the
current user. Every test gets fresh remote data roots. Nothing is installed here: `.ci/run` installs
openssh-server and rsync, and the tests skip (saying why) where sshd is absent.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringrift_testing import PYTHON, REPO

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class SshServer:
    name: str
    port: int
    host_key: str  # "type base64", as a known_hosts line carries it
    folder: Path
    process: subprocess.Popen

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key}"


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


def _missing_tools() -> list[str]:
    missing = [] if os.access(SSHD, os.X_OK) else [SSHD]
    return missing + [tool for tool in ("ssh", "ssh-keygen", "rsync", "sha256sum") if not shutil.which(tool)]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited with {process.returncode}: {log.read_text()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd did not listen on 127.0.0.1:{port} within {START_TIMEOUT}s")


def _start_sshd(folder: Path, name: str, authorized_keys: Path) -> SshServer:
    folder.mkdir()
    _keygen(folder / "host_key")
    for attempt in range(3):  # a port picked free can be taken before sshd binds it
        port = _free_port()
        config = folder / "sshd_config"
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
            f"AuthorizedKeysFile {authorized_keys}\nPubkeyAuthentication yes\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
            f"PidFile {folder / 'sshd.pid'}\nStrictModes no\nUsePAM no\nLogLevel VERBOSE\n"
            "Subsystem sftp internal-sftp\nMaxStartups 64\n"
        )
        log = folder / "sshd.log"
        process = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(log)])
        try:
            _wait_listening(port, process, log)
        except RuntimeError:
            process.kill()
            process.wait()
            if attempt == 2:
                raise
            continue
        key_type, key_data = (folder / "host_key.pub").read_text().split()[:2]
        return SshServer(name=name, port=port, host_key=f"{key_type} {key_data}", folder=folder, process=process)
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def ssh_servers(tmp_path_factory):
    """Two sshd on 127.0.0.1, started once for the session and stopped after it."""
    missing = _missing_tools()
    if missing:
        pytest.skip(f"SSH tests need {', '.join(missing)} (.ci/run installs openssh-server and rsync)")
    if os.geteuid() != 0 and not Path("/run/sshd").is_dir():
        pytest.skip("SSH tests need /run/sshd (sshd's privilege separation folder); run them as root")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    root = tmp_path_factory.mktemp("sshd")
    _keygen(root / "client_key")
    authorized_keys = root / "authorized_keys"
    shutil.copy(root / "client_key.pub", authorized_keys)
    servers = []
    try:
        for name in ("h1", "h2"):
            servers.append(_start_sshd(root / name, name, authorized_keys))
        known_hosts = root / "known_hosts"
        known_hosts.write_text("".join(server.known_hosts_line() + "\n" for server in servers))
        ringrift = root / "ringrift"
        # The hosts' `command`: this checkout's ringrift under this Python, whatever PATH sshd gives.
        ringrift.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(REPO))} exec {shlex.quote(PYTHON)} "
                            "-m ringrift_cli \"$@\"\n")
        ringrift.chmod(0o755)
        yield root, tuple(servers)
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


@pytest.fixture
def ssh_lab(ssh_servers, tmp_path) -> SshLab:
    """The two servers, with fresh remote data roots under this test's folder."""
    root, servers = ssh_servers
    lab = SshLab(servers=servers, client_key=root / "client_key", known_hosts=root / "known_hosts",
                 ringrift=root / "ringrift", root=tmp_path)
    for server in servers:
        lab.home(server).mkdir()
    return lab
