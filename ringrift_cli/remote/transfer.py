"""Moving files between the controller and a host, checked by sha256 at both ends.

Paths are relative to a data root on each side (artifacts are registered that way), so one rsync
call moves a whole batch. The receiving end hashes each file as it lands while rsync still sends
the rest (``landing.py``), and a copy counts only when it has the sha256 recorded at the sending
end: the one registered with the artifact for a push (hashed when it was written here), the one
the host reported for a pull (hashed there by the run or the listing). A push checks the host's
free disk in the same remote shell that starts rsync's receiver, so the check costs no round
trip; a pull hashes here. A file that fails any check is refused: its bad copy is deleted and its
``Moved.refused`` says why, so the caller records a refusal, never a registration. Both directions
are idempotent (a file already in place is not sent again) and resumable (rsync keeps an
interrupted transfer's partial file aside).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from ..files import fsync_file, sha256_of
from . import landing
from .transport import DEFAULT_TIMEOUT, NoRoom, Transport, TransportError

SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Relative paths as ringrift names its artifacts: the alphabet of hosts.yaml paths, no '..' part.
RELATIVE = re.compile(r"^[A-Za-z0-9_+@%,:][A-Za-z0-9_./+@%,:-]*$")
GB = 1 << 30
STAGING = ".incoming"
# Run on the host by its python3, in one round trip: create the root, report its free disk, hash
# the files that exist. A fixed script: the root and the paths are its arguments, never its text.
# Python rather than sha256sum: coreutils' sha256sum (Debian 12) ignores the CPU's SHA instructions
# and hashes about 3x slower than hashlib, which made verification cost more than the transfer.
STATE_SCRIPT = """
import hashlib, json, os, shutil, sys
from concurrent.futures import ThreadPoolExecutor
root = sys.argv[1]
os.makedirs(root, exist_ok=True)
def digest(path):
    full = os.path.join(root, path)
    if not os.path.isfile(full):
        return path, None
    h = hashlib.sha256()
    with open(full, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return path, h.hexdigest()
with ThreadPoolExecutor(4) as pool:
    found = {p: d for p, d in pool.map(digest, sys.argv[2:]) if d}
print(json.dumps({"free": shutil.disk_usage(root).free, "sha256": found}))
"""
MAX_STATE = 1 << 22
LANDING = Path(landing.__file__).read_text()  # sent to the host's python3: see landing.py
HASH_RATE = 20 << 20  # bytes/s the host is given to hash what arrived before the wait counts as a timeout


class TransferRefused(UserError):
    """Nothing could be moved (a bad request, or no room on the host)."""


@dataclass(frozen=True)
class FileToMove:
    path: str  # relative to both roots
    sha256: str


@dataclass(frozen=True)
class Moved:
    path: str
    sha256: str
    bytes: int
    sent: bool  # False: the same content was already there, or it was refused
    refused: str | None = None


@dataclass(frozen=True)
class Batch:
    host: str
    moved: list[Moved]
    seconds: float

    @property
    def refused(self) -> list[Moved]:
        return [item for item in self.moved if item.refused]

    @property
    def bytes_sent(self) -> int:
        return sum(item.bytes for item in self.moved if item.sent)


def _check_request(files: Sequence[FileToMove]) -> None:
    for item in files:
        parts = item.path.split("/")
        if not RELATIVE.match(item.path) or ".." in parts or "" in parts:
            raise TransferRefused(f"{item.path!r} is not a plain relative path")
        if not SHA256.match(item.sha256):
            raise TransferRefused(f"{item.path}: {item.sha256!r} is not a sha256")


def host_state(transport: Transport, root: str, paths: Sequence[str]) -> tuple[int, dict[str, str]]:
    """(free bytes at ``root``, {path: sha256} of those ``paths`` that exist there), in one round trip."""
    result = transport.run(["python3", "-c", STATE_SCRIPT, root, *paths])
    try:
        if not result.ok or len(result.stdout) > MAX_STATE:
            raise ValueError(result.stderr.strip()[-200:] or "no answer")
        state = json.loads(result.stdout)
        free, found = state["free"], state["sha256"]
        if type(free) is not int or not isinstance(found, dict):
            raise ValueError("unexpected answer")
    except (ValueError, KeyError, TypeError) as exc:
        raise TransportError(f"host {transport.host.name}: cannot read {root} (python3 -c, exit "
                             f"{result.exit_code}): {exc}") from None
    asked = set(paths)
    return free, {path: digest for path, digest in found.items()
                  if path in asked and isinstance(digest, str) and SHA256.match(digest)}


def push_files(transport: Transport, local_root: Path, remote_root: str, files: Sequence[FileToMove]) -> Batch:
    """Copy registered files (relative to ``local_root``) to the same paths under ``remote_root``.

    Raises TransferRefused when the host would be left with less free disk than its
    ``min_free_gb``; refuses per file a local file that is missing, and a copy on the host that
    does not have the file's registered sha256 after the transfer (deleted there), naming the
    local file when that is the one that changed.
    """
    _check_request(files)
    started = time.monotonic()
    host = transport.host
    root = transport.expand(remote_root)
    moved = {item.path: Moved(item.path, item.sha256, 0, False, f"{local_root / item.path} is missing")
             for item in files if not (local_root / item.path).is_file()}
    wanted = {item.path: (item, (local_root / item.path).stat().st_size) for item in files if item.path not in moved}
    if wanted:
        keep = math.ceil(host.min_free_gb * GB)
        try:  # as if none of the files were there yet: the usual case, and no round trip to learn otherwise
            moved.update(_send_checked(transport, local_root, root, list(wanted.values()),
                                       keep + sum(size for _, size in wanted.values())))
        except NoRoom:
            moved.update(_send_missing(transport, local_root, root, list(wanted.values()), keep))
    return Batch(host.name, [moved[item.path] for item in files], time.monotonic() - started)


def _send_missing(transport: Transport, local_root: Path, root: str, wanted: list[tuple[FileToMove, int]],
                  keep: int) -> dict[str, Moved]:
    """Ask the host which files it already holds and how much room it has, then send only the others."""
    host = transport.host
    free, there = host_state(transport, root, [item.path for item, _ in wanted])
    moved = {item.path: Moved(item.path, item.sha256, size, False) for item, size in wanted
             if there.get(item.path) == item.sha256}
    to_send = [(item, size) for item, size in wanted if item.path not in moved]
    needed = sum(size for _, size in to_send)
    if to_send and free - needed < keep:
        raise TransferRefused(f"host {host.name} has {free / GB:.1f} GB free at {root}; {len(to_send)} file(s) "
                              f"({needed / GB:.2f} GB) would leave less than its min_free_gb {host.min_free_gb:.12g}")
    if to_send:
        moved.update(_send_checked(transport, local_root, root, to_send, 0))
    return moved


def _send_checked(transport: Transport, local_root: Path, root: str, to_send: list[tuple[FileToMove, int]],
                  keep_free: int, *, again: bool = True) -> dict[str, Moved]:
    """rsync the files while the host hashes each one as it lands (the check costs no time of its own
    beyond the last file's hash), then judge every copy by its registered sha256."""
    paths = [item.path for item, _ in to_send]
    header = json.dumps([[item.path, item.sha256] for item, _ in to_send]) + "\n"
    total = sum(size for _, size in to_send)
    with ThreadPoolExecutor(max_workers=1) as pool:
        starting = pool.submit(transport.start, ["python3", "-c", LANDING, root], header)
        try:
            copied = set(transport.put(local_root, root, paths, keep_free=keep_free))
        except TransportError:
            if starting.exception() is None:
                starting.result().abandon()
            raise
        checker = starting.result()
    arrived = _read_digests(transport, root, checker.finish("go\n", timeout=DEFAULT_TIMEOUT + total / HASH_RATE))
    moved, stale, reasons = {}, [], {}
    for item, size in to_send:
        if arrived.get(item.path) == item.sha256:
            moved[item.path] = Moved(item.path, item.sha256, size, item.path in copied)
        elif again and item.path not in copied and item.path in arrived:
            stale.append((item, size))  # rsync's quick check kept a copy of the same size and time: resend it
        elif sha256_of(local_root / item.path) != item.sha256:
            reasons[item.path] = f"{local_root / item.path} no longer matches its registered sha256; the copy sent was deleted"
        else:
            reasons[item.path] = (f"arrived on {transport.host.name} with sha256 {_short(arrived.get(item.path))}, "
                                  f"not {_short(item.sha256)}; the copy was deleted")
    if reasons or stale:
        transport.run(["rm", "-f", "--", *(f"{root}/{path}" for path in [*reasons, *(i.path for i, _ in stale)])])
    if stale:
        moved.update(_send_checked(transport, local_root, root, stale, keep_free, again=False))
    moved.update({item.path: Moved(item.path, item.sha256, 0, False, reasons[item.path])
                  for item, _ in to_send if item.path in reasons})
    return moved


def _read_digests(transport: Transport, root: str, result) -> dict[str, str]:
    try:
        if not result.ok or len(result.stdout) > MAX_STATE:
            raise ValueError(result.stderr.strip()[-200:] or "no answer")
        found = json.loads(result.stdout)
        if not isinstance(found, dict):
            raise ValueError("unexpected answer")
    except ValueError as exc:
        raise TransportError(f"host {transport.host.name}: cannot hash what arrived under {root} (python3 -c, exit "
                             f"{result.exit_code}): {exc}") from None
    return {path: digest for path, digest in found.items() if isinstance(digest, str) and SHA256.match(digest)}


def pull_files(transport: Transport, remote_root: str, local_root: Path, files: Sequence[FileToMove]) -> Batch:
    """Copy files (relative to ``remote_root`` on the host) to the same paths under ``local_root``.

    Each sha256 is the one the host reported (its run's status, its listing: hashed there). Copies
    arrive in a staging folder, are hashed here while the rest still arrive, and get their real
    names only when they match; a copy that does not match (or a file the host no longer has) is
    refused and deleted, so nothing appears under its real name.
    """
    _check_request(files)
    started = time.monotonic()
    host = transport.host
    root = transport.expand(remote_root)
    moved: dict[str, Moved] = {}
    wanted = []
    for item in files:
        local = local_root / item.path
        if local.is_file() and sha256_of(local) == item.sha256:
            moved[item.path] = Moved(item.path, item.sha256, local.stat().st_size, False)
        else:
            wanted.append(item)
    if wanted:
        staging = local_root / f"{STAGING}-{host.name}"  # per host: an interrupted pull resumes
        ended = threading.Event()
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(landing.watch, str(staging), {item.path: item.sha256 for item in wanted}, ended.wait)
            try:
                transport.get(root, staging, [item.path for item in wanted])
            finally:
                ended.set()
            arrived = hashing.result()
        for item in wanted:
            moved[item.path] = _settle(staging / item.path, local_root / item.path, item, host.name,
                                       arrived.get(item.path))
        shutil.rmtree(staging, ignore_errors=True)
    return Batch(host.name, [moved[item.path] for item in files], time.monotonic() - started)


def _settle(staged: Path, final: Path, item: FileToMove, host: str, arrived: str | None) -> Moved:
    """Give a fetched file its real name if it is the file expected; otherwise delete it."""
    if arrived != item.sha256:
        staged.unlink(missing_ok=True)
        return Moved(item.path, item.sha256, 0, False, f"{item.path} from {host} arrived with sha256 "
                     f"{_short(arrived)}, not {_short(item.sha256)}; the copy was deleted")
    fsync_file(staged)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)
    return Moved(item.path, item.sha256, final.stat().st_size, True)


def _short(digest: str | None) -> str:
    return "none (no such file)" if digest is None else digest[:12] + "…"
