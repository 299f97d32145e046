"""Real sshd servers on 127.0.0.1 for the SSH tests and the remote benchmark.

Each server has its own generated host key and port and runs in the foreground (``sshd -D``) as a
child of the caller, who stops it with ``stop``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

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


def missing_tools() -> list[str]:
    missing = [] if os.access(SSHD, os.X_OK) else [SSHD]
    return missing + [tool for tool in ("ssh", "ssh-keygen", "rsync", "sha256sum") if not shutil.which(tool)]


def keygen(path: Path) -> None:
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


def start_sshd(folder: Path, name: str, authorized_keys: Path) -> SshServer:
    folder.mkdir()
    keygen(folder / "host_key")
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


def stop(servers) -> None:
    for server in servers:
        server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
