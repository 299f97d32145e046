"""A host over SSH: Fabric for commands, rsync for files, host keys enforced on both.

Fabric (and Paramiko under it) trusts any key it has not seen before unless told otherwise; that is
the one default we cannot keep. Here the host's ``known_hosts`` file is the only source of trust:
an unknown key and a changed key are both refusals, nothing is ever added to the file, no password
is ever tried, and ``~/.ssh/config`` is not read (it could add a ProxyCommand behind our back).
rsync runs the system ``ssh`` with the same file and ``StrictHostKeyChecking=yes``.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
from pathlib import Path
from typing import Sequence

from .hosts_file import Host
from .transport import DEFAULT_TIMEOUT, HostKeyRefused, NoRoom, RunResult, Started, Transport, TransportError

CONNECT_TIMEOUT = 10
PARTIAL_DIR = ".rsync-partial"  # an interrupted transfer resumes from here, never from the final name
NO_ROOM = "ringrift-no-room"  # what the free-disk check says on rsync's stderr before refusing to start it


class SshTransport(Transport):
    def __init__(self, host: Host):
        super().__init__(host)
        self.known_hosts = Path(os.path.expanduser(host.known_hosts))
        self.identity_file = Path(os.path.expanduser(host.identity_file)) if host.identity_file else None
        self._connection = None

    @property
    def target(self) -> str:
        """``[host]:port`` as known_hosts writes it (plain ``host`` on port 22)."""
        return self.host.hostname if self.host.port == 22 else f"[{self.host.hostname}]:{self.host.port}"

    def _connect(self):
        if self._connection is not None:
            return self._connection
        from fabric import Config, Connection
        from paramiko import RejectPolicy, SSHConfig

        self._require_known_hosts()
        connect_kwargs = {"allow_agent": self.identity_file is None, "look_for_keys": self.identity_file is None}
        if self.identity_file is not None:
            connect_kwargs["key_filename"] = [str(self.identity_file)]
        connection = Connection(self.host.hostname, user=self.host.user, port=self.host.port,
                                config=Config(ssh_config=SSHConfig()), connect_timeout=CONNECT_TIMEOUT,
                                connect_kwargs=connect_kwargs)
        connection.client.set_missing_host_key_policy(RejectPolicy())
        try:
            # "system" keys: read for checking, never written back (load_host_keys would save on add).
            connection.client.load_system_host_keys(str(self.known_hosts))
        except (OSError, ValueError) as exc:
            raise HostKeyRefused(f"host {self.host.name}: cannot read known_hosts file {self.known_hosts}: {exc}") from None
        try:
            connection.open()
        except Exception as exc:  # paramiko and socket errors alike; each becomes one clear line
            connection.close()
            raise self._connect_error(exc) from None
        self._connection = connection
        return connection

    def _connect_error(self, exc: Exception) -> TransportError:
        import paramiko

        name = self.host.name
        if isinstance(exc, paramiko.BadHostKeyException):
            return HostKeyRefused(
                f"host {name}: the host key of {self.target} has CHANGED (server offers {exc.key.get_name()} "
                f"{exc.key.fingerprint}, {self.known_hosts} holds {exc.expected_key.fingerprint}); refusing to "
                "connect: if the change is expected, replace its line in the known_hosts file")
        if isinstance(exc, paramiko.SSHException) and "not found in known_hosts" in str(exc):
            return HostKeyRefused(
                f"host {name}: the host key of {self.target} is unknown (not in {self.known_hosts}); refusing to "
                "connect: check the key's fingerprint, then add it (ssh-keyscan) to that file")
        if isinstance(exc, paramiko.AuthenticationException):
            key = f"key {self.identity_file}" if self.identity_file else "the agent's and default keys"
            return TransportError(f"host {name}: {self.host.ssh} refused {key} ({exc})")
        if isinstance(exc, (OSError, socket.timeout, paramiko.SSHException, EOFError)):
            return TransportError(f"host {name}: cannot reach {self.host.ssh}: {exc or type(exc).__name__}")
        return TransportError(f"host {name}: SSH failed: {type(exc).__name__}: {exc}")

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> RunResult:
        from invoke.exceptions import CommandTimedOut

        connection = self._connect()
        command = " ".join(shlex.quote(word) for word in argv)
        try:
            result = connection.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
        except CommandTimedOut:
            raise TransportError(f"host {self.host.name}: {argv[0]} did not finish within {timeout:g}s") from None
        except Exception as exc:  # a dropped connection mid-command
            self.close()
            raise TransportError(f"host {self.host.name}: connection lost running {argv[0]}: {exc}") from None
        return RunResult(result.exited, result.stdout, result.stderr)

    def start(self, argv: Sequence[str], first: str) -> Started:
        connection = self._connect()
        command = " ".join(shlex.quote(word) for word in argv)
        try:
            channel = connection.client.get_transport().open_session()
            channel.exec_command(command)
            channel.sendall(first.encode())
        except Exception as exc:  # a dropped connection
            self.close()
            raise TransportError(f"host {self.host.name}: connection lost starting {argv[0]}: {exc}") from None
        return _SshStarted(self.host.name, argv[0], channel)

    def put(self, local_root: Path, remote_root: str, paths: Sequence[str], *, keep_free: int = 0) -> list[str]:
        destination = self._remote_spec(remote_root)
        # The free-disk check runs in the remote shell that starts rsync's receiver, so it costs no
        # round trip of its own; rsync runs only when the check passes.
        kilobytes = -(-int(keep_free) // 1024)  # whole KiB, rounded up: the shell compares integers
        root = shlex.quote(remote_root)
        receiver = (f"mkdir -p -- {root} && [ \"$(df -Pk -- {root} | awk 'NR == 2 {{print $4}}')\" -ge {kilobytes} ] "
                    f"|| {{ echo {NO_ROOM} >&2; exit 1; }}; rsync")
        copied = self._rsync(f"{local_root}/", f"{destination}/", paths, ["--out-format=%i %n", f"--rsync-path={receiver}"])
        return [line.split(" ", 1)[1] for line in copied.splitlines() if line[:2] == "<f" and " " in line]

    def get(self, remote_root: str, local_root: Path, paths: Sequence[str]) -> None:
        local_root.mkdir(parents=True, exist_ok=True)
        self._rsync(f"{self._remote_spec(remote_root)}/", f"{local_root}/", paths, ["--ignore-missing-args"])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _remote_spec(self, path: str) -> str:
        if not path.startswith("/"):
            raise TransportError(f"host {self.host.name}: remote path {path!r} is not absolute")
        user = f"{self.host.user}@" if self.host.user else ""
        return f"{user}{self.host.hostname}:{path}"

    def ssh_command(self) -> list[str]:
        """The system ssh as rsync runs it: this host's port, key and known_hosts, keys strictly checked."""
        command = ["ssh", "-F", "none", "-p", str(self.host.port), "-o", "BatchMode=yes",
                   "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
                   "-o", "GlobalKnownHostsFile=/dev/null", "-o", "PasswordAuthentication=no",
                   "-o", "KbdInteractiveAuthentication=no", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
        if self.identity_file is not None:
            command += ["-i", str(self.identity_file), "-o", "IdentitiesOnly=yes"]
        return command

    def rsync_argv(self, source: str, destination: str, extra: Sequence[str] = ()) -> list[str]:
        """One rsync call moving the paths listed on its stdin (relative to ``source``) to ``destination``."""
        argv = ["rsync", "--partial", f"--partial-dir={PARTIAL_DIR}", "--times", "--files-from=-",
                "-e", " ".join(shlex.quote(word) for word in self.ssh_command()), *extra]
        if self.host.bwlimit is not None:
            argv.append(f"--bwlimit={self.host.bwlimit}")
        return [*argv, "--", source, destination]

    def _require_known_hosts(self) -> None:
        """Both SSH and rsync trust only this file: without it no host key can be checked."""
        if not self.known_hosts.is_file():
            raise HostKeyRefused(f"host {self.host.name}: known_hosts file {self.known_hosts} does not exist, so the "
                                 f"key of {self.target} is unknown; refusing to connect")

    def _rsync(self, source: str, destination: str, paths: Sequence[str], extra: Sequence[str] = ()) -> str:
        """Run rsync; its standard output when it succeeded."""
        self._require_known_hosts()
        try:
            proc = subprocess.run(self.rsync_argv(source, destination, extra), capture_output=True, text=True,
                                  input="".join(f"{path}\n" for path in paths))
        except FileNotFoundError:
            raise TransportError("rsync is not installed on this machine (apt-get install rsync)") from None
        if proc.returncode == 0:
            return proc.stdout
        if any(line.strip() == NO_ROOM for line in proc.stderr.splitlines()):
            raise NoRoom(f"host {self.host.name}: less free disk than asked at {destination}")
        tail = proc.stderr.strip().splitlines()[-3:]
        if any("Host key verification failed" in line for line in proc.stderr.splitlines()):
            raise HostKeyRefused(f"host {self.host.name}: ssh refused the host key of {self.target} "
                                 f"(unknown or changed; see {self.known_hosts}): {' '.join(tail)}")
        raise TransportError(f"host {self.host.name}: rsync {source} -> {destination} failed "
                             f"(exit {proc.returncode}): {' '.join(tail)}")


class _SshStarted(Started):
    def __init__(self, host: str, program: str, channel):
        self.host, self.program, self.channel = host, program, channel

    def finish(self, last: str, *, timeout: float) -> RunResult:
        channel = self.channel
        try:
            channel.settimeout(timeout)
            channel.sendall(last.encode())
            channel.shutdown_write()
            out = channel.makefile("rb").read().decode(errors="replace")
            err = channel.makefile_stderr("rb").read().decode(errors="replace")
            code = channel.recv_exit_status()
        except socket.timeout:
            raise TransportError(f"host {self.host}: {self.program} did not finish within {timeout:g}s") from None
        except Exception as exc:  # a dropped connection mid-command
            raise TransportError(f"host {self.host}: connection lost running {self.program}: {exc}") from None
        finally:
            channel.close()
        return RunResult(code, out, err)

    def abandon(self) -> None:
        self.channel.close()
