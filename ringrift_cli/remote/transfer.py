"""Moving one file between the controller and a host, checked by sha256 at both ends.

A push hashes the file here (it must still be the file that was registered), copies it, and hashes
it again on the host; a pull hashes it on the host first (it must be the file the host said it
wrote), copies it under a staging name, and hashes it here before giving it its real name. Any
mismatch removes the bad copy and raises ``TransferRefused``: the caller records a refusal, never
a registration. Both directions are idempotent (a file already in place is not sent again) and
resumable (rsync keeps an interrupted transfer's partial file aside).
"""

from __future__ import annotations

import os
import posixpath
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..files import fsync_file, sha256_of
from .transport import Transport, TransportError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
GB = 1 << 30


class TransferRefused(UserError):
    """A file's content is not what it should be (or there is no room for it): nothing was registered."""


@dataclass(frozen=True)
class Transferred:
    host: str
    local: str
    remote: str
    sha256: str
    bytes: int
    seconds: float
    sent: bool  # False: the same content was already there, nothing moved


def _short(digest: str | None) -> str:
    return "none (no such file)" if digest is None else digest[:12] + "…"


def remote_sha256(transport: Transport, path: str) -> str | None:
    """sha256 of ``path`` on the host (absolute), or None when there is no such file."""
    result = transport.run(["sha256sum", "--", path])
    if not result.ok:
        if "No such file" in result.stderr:
            return None
        raise TransportError(f"host {transport.host.name}: sha256sum {path} failed: {result.stderr.strip()[-200:]}")
    digest = result.stdout.split(" ", 1)[0].lstrip("\\")
    if not SHA256.match(digest):
        raise TransportError(f"host {transport.host.name}: sha256sum printed {result.stdout[:80]!r}")
    return digest


def remote_free_bytes(transport: Transport, path: str) -> int:
    """Bytes free to the host's user on the file system holding ``path`` (an existing folder)."""
    result = transport.run(["df", "-Pk", "--", path])
    lines = result.stdout.strip().splitlines()
    try:
        return int(lines[-1].split()[3]) * 1024
    except (IndexError, ValueError):
        raise TransportError(f"host {transport.host.name}: cannot read free disk at {path}: "
                             f"{(result.stderr or result.stdout).strip()[-200:]}") from None


def _make_folder(transport: Transport, path: str) -> None:
    result = transport.run(["mkdir", "-p", "--", path])
    if not result.ok:
        raise TransportError(f"host {transport.host.name}: cannot create {path}: {result.stderr.strip()[-200:]}")


def push_artifact(transport: Transport, local: Path, remote: str, sha256: str) -> Transferred:
    """Copy the registered file ``local`` (content ``sha256``) to ``remote`` on the host.

    Refused when the local file no longer matches ``sha256``, when the host has less free disk than
    its ``min_free_gb`` plus the file, or when the copy there does not match after transfer (the
    bad copy is deleted).
    """
    host = transport.host
    started = time.monotonic()
    if sha256_of(local) != sha256:
        raise TransferRefused(f"{local} no longer matches its registered sha256 {_short(sha256)}; not sent to {host.name}")
    size = local.stat().st_size
    target = transport.expand(remote)
    if remote_sha256(transport, target) == sha256:
        return Transferred(host.name, str(local), target, sha256, size, time.monotonic() - started, sent=False)
    folder = posixpath.dirname(target)
    _make_folder(transport, folder)
    free = remote_free_bytes(transport, folder)
    if free - size < host.min_free_gb * GB:
        raise TransferRefused(f"host {host.name} has {free / GB:.1f} GB free at {folder}; {local.name} "
                              f"({size / GB:.2f} GB) would leave less than its min_free_gb {host.min_free_gb:.12g}")
    transport.put(local, target)
    arrived = remote_sha256(transport, target)
    if arrived != sha256:
        transport.run(["rm", "-f", "--", target])
        raise TransferRefused(f"{local.name} arrived on {host.name} as {target} with sha256 "
                              f"{_short(arrived)}, not {_short(sha256)}; the copy was deleted")
    return Transferred(host.name, str(local), target, sha256, size, time.monotonic() - started, sent=True)


def pull_file(transport: Transport, remote: str, local: Path, sha256: str) -> Transferred:
    """Copy ``remote`` from the host to ``local``; both copies must have content ``sha256``.

    Refused (nothing written under ``local``) when the host's file does not match, or the copy
    here does not match after transfer.
    """
    host = transport.host
    started = time.monotonic()
    if not SHA256.match(sha256):
        raise TransferRefused(f"{sha256!r} is not a sha256")
    source = transport.expand(remote)
    if local.is_file() and sha256_of(local) == sha256:
        return Transferred(host.name, str(local), source, sha256, local.stat().st_size,
                           time.monotonic() - started, sent=False)
    at_source = remote_sha256(transport, source)
    if at_source != sha256:
        raise TransferRefused(f"{source} on {host.name} has sha256 {_short(at_source)}, not {_short(sha256)}; "
                              "not fetched")
    local.parent.mkdir(parents=True, exist_ok=True)
    staging = local.with_name(f".{local.name}.incoming")
    transport.get(source, staging)
    arrived = sha256_of(staging)
    if arrived != sha256:
        staging.unlink(missing_ok=True)
        raise TransferRefused(f"{source} from {host.name} arrived with sha256 {_short(arrived)}, not {_short(sha256)}; "
                              "the copy was deleted")
    fsync_file(staging)
    os.replace(staging, local)
    return Transferred(host.name, str(local), source, sha256, local.stat().st_size, time.monotonic() - started,
                       sent=True)
