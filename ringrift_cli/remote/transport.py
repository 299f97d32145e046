"""How ringrift reaches a host: run a command, copy a file in, copy a file out.

Two implementations behind one small interface: the local machine (a subprocess) and a machine over
SSH (see ``ssh.py``). Commands are argv lists, never shell text: the SSH side quotes every word with
``shlex.quote`` before the remote shell sees it, and the words themselves come from validated
hosts.yaml fields or from ringrift's own paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from .hosts_file import Host

DEFAULT_TIMEOUT = 60.0


class TransportError(UserError):
    """A host could not be reached, refused us, or a command could not be started there."""


class HostKeyRefused(TransportError):
    """The host's key is unknown or differs from the one in its known_hosts file."""


class NoRoom(TransportError):
    """``put`` found less free disk on the host than the batch asked it to keep (nothing was sent)."""


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


class Started(ABC):
    """A command started on a host that reads its standard input while the caller does other work."""

    @abstractmethod
    def finish(self, last: str, *, timeout: float) -> RunResult:
        """Send ``last`` on its standard input, close that, and wait for the command to end."""

    @abstractmethod
    def abandon(self) -> None:
        """Close its standard input without a word and stop waiting for it."""


class Transport(ABC):
    """One host. ``run`` returns whatever the command exited with; ``put``/``get`` raise on failure."""

    def __init__(self, host: Host):
        self.host = host
        self._home: str | None = None

    @abstractmethod
    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> RunResult:
        """Run ``argv`` on the host (no shell on the local side; every word quoted on the SSH side)."""

    @abstractmethod
    def start(self, argv: Sequence[str], first: str) -> Started:
        """Start ``argv`` on the host with ``first`` on its standard input, and return at once."""

    @abstractmethod
    def put(self, local_root: Path, remote_root: str, paths: Sequence[str], *, keep_free: int = 0) -> list[str]:
        """Copy each relative path from ``local_root`` to the same path under the absolute ``remote_root``
        on the host, creating folders as needed, and return the paths copied. A file already there
        with the same size and modification time is not copied again (rsync's quick check; copies
        keep the source's time). Raises NoRoom, sending nothing, when ``remote_root`` has fewer
        than ``keep_free`` bytes free."""

    @abstractmethod
    def get(self, remote_root: str, local_root: Path, paths: Sequence[str]) -> None:
        """Copy each relative path from the absolute ``remote_root`` on the host to the same path under
        ``local_root``, creating folders as needed; a path the host does not have is skipped (the
        caller's check finds it missing)."""

    def close(self) -> None:  # noqa: B027 - a transport without a connection has nothing to release
        """Release the connection, if any."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def expand(self, path: str) -> str:
        """``~`` and ``~/...`` as the host's user sees them; other paths unchanged."""
        if path != "~" and not path.startswith("~/"):
            return path
        if self._home is None:
            result = self.run(["printenv", "HOME"])
            home = result.stdout.strip()
            if not result.ok or not home.startswith("/"):
                raise TransportError(f"host {self.host.name}: cannot read its home folder ({result.stderr.strip()})")
            self._home = home
        return self._home + path[1:]


class LocalTransport(Transport):
    """This machine, through subprocesses: the same protocol as a remote host."""

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> RunResult:
        try:
            proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            return RunResult(127, "", f"{argv[0]}: command not found")
        except OSError as exc:  # not executable, a folder, ...: what a shell reports as 126
            return RunResult(126, "", f"{argv[0]}: {exc.strerror}")
        except subprocess.TimeoutExpired:
            raise TransportError(f"host {self.host.name}: {argv[0]} did not finish within {timeout:g}s") from None
        return RunResult(proc.returncode, proc.stdout, proc.stderr)

    def start(self, argv: Sequence[str], first: str) -> Started:
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise TransportError(f"host {self.host.name}: cannot start {argv[0]}: {exc.strerror}") from None
        return _LocalStarted(self.host.name, proc, first)

    def put(self, local_root: Path, remote_root: str, paths: Sequence[str], *, keep_free: int = 0) -> list[str]:
        Path(remote_root).mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(remote_root).free
        if free < keep_free:
            raise NoRoom(f"host {self.host.name}: {free} bytes free at {remote_root}, {keep_free} asked")
        copied = []
        for path in paths:
            source, target = local_root / path, Path(remote_root) / path
            if not _same_size_and_time(source, target):
                _copy_atomically(source, target)
                copied.append(path)
        return copied

    def get(self, remote_root: str, local_root: Path, paths: Sequence[str]) -> None:
        for path in paths:
            if (Path(remote_root) / path).is_file():
                _copy_atomically(Path(remote_root) / path, local_root / path)

    def expand(self, path: str) -> str:
        return os.path.expanduser(path)


class _LocalStarted(Started):
    def __init__(self, host: str, proc: subprocess.Popen, first: str):
        self.host, self.proc = host, proc
        try:
            proc.stdin.write(first)
            proc.stdin.flush()
        except OSError:  # it ended already: finish reports how
            pass

    def finish(self, last: str, *, timeout: float) -> RunResult:
        try:
            out, err = self.proc.communicate(last, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise TransportError(f"host {self.host}: {self.proc.args[0]} did not finish within {timeout:g}s") from None
        return RunResult(self.proc.returncode, out, err)

    def abandon(self) -> None:
        self.proc.kill()
        self.proc.communicate()


def _same_size_and_time(source: Path, target: Path) -> bool:
    try:
        one, other = source.stat(), target.stat()
    except OSError:
        return False
    return one.st_size == other.st_size and int(one.st_mtime) == int(other.st_mtime)


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy under a temporary name beside ``target`` and rename, so ``target`` is never half written."""
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
        shutil.copyfile(source, temporary)
        stat = os.stat(source)
        os.utime(temporary, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
        raise TransportError(f"cannot copy {source} to {target}: {exc}") from None


def open_transport(host: Host) -> Transport:
    """The transport for ``host``: a subprocess for ``ssh: local``, else SSH with host keys enforced."""
    if host.is_local:
        return LocalTransport(host)
    from .ssh import SshTransport

    return SshTransport(host)
