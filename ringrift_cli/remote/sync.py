"""``ringrift sync``: reconcile artifacts between the controller and its hosts, checked by sha256 at both ends.

- games: shards a host recorded in its own data root (``games/<config>/*.db``, e.g. by a
  ``ringrift selfplay`` typed there) that the controller does not hold yet are pulled under
  ``hosts/<host>/`` and registered with that host, after the pulled file is checked to be a
  finished games shard of that config and of this encoder;
- models: each config's best model is pushed to every selfplay host;
- npz: the NPZ shards are pushed to every train host.

Idempotent (a file already there with its sha256 is neither sent nor registered again) and
resumable (rsync keeps an interrupted file's partial copy). A push never leaves a host below its
``min_free_gb`` (``push_files`` refuses the batch).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ..context import Context
from ..keys import CONFIG_KEYS
from .hosts_file import Host
from .transfer import SHA256, FileToMove, TransferRefused, host_state, pull_files, push_files
from .transport import Transport, TransportError, open_transport

SYNC_KINDS = ("games", "npz", "models")
MAX_LISTED = 10_000
SHARD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.db$")
# The finished games shards under root/games/<config>/, with sizes and sha256, in one round trip.
LIST_GAMES = f"""
import hashlib, json, os, sys
root, found = sys.argv[1], []
for config in sys.argv[2:]:
    folder = os.path.join(root, "games", config)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        continue
    for name in names:
        full = os.path.join(folder, name)
        if not name.endswith(".db") or os.path.islink(full) or not os.path.isfile(full):
            continue
        h = hashlib.sha256()
        with open(full, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                h.update(chunk)
        found.append({{"path": f"games/{{config}}/{{name}}", "sha256": h.hexdigest()}})
        if len(found) >= {MAX_LISTED}:
            break
print(json.dumps(found))
"""


@dataclass
class HostSync:
    host: str
    pulled: list[str] = field(default_factory=list)  # registered paths (would be, in a dry run)
    pushed: list[str] = field(default_factory=list)
    bytes: int = 0
    refused: list[str] = field(default_factory=list)
    error: str | None = None


def sync_hosts(context: Context, hosts: list[Host], kinds: tuple[str, ...], *, dry_run: bool,
               now: float) -> list[HostSync]:
    """Sync each host in turn (the controller's state file is written from this thread only)."""
    return [sync_host(context, host, kinds, dry_run=dry_run, now=now) for host in hosts]


def sync_host(context: Context, host: Host, kinds: tuple[str, ...], *, dry_run: bool, now: float) -> HostSync:
    report = HostSync(host.name)
    try:
        with open_transport(host) as transport:
            root = transport.expand(host.home)
            if "games" in kinds:
                pull_games(context, transport, root, report, dry_run=dry_run, now=now)
            pushes = files_to_push(context, host, kinds)
            if pushes:
                push(context, transport, root, pushes, report, dry_run=dry_run, now=now)
    except TransportError as exc:
        report.error = str(exc)
    return report


def files_to_push(context: Context, host: Host, kinds: tuple[str, ...]) -> list[FileToMove]:
    from ..store.artifacts import get_artifact, unquarantined_artifacts
    from ..store.models import best_model

    files = []
    if "models" in kinds and "selfplay" in host.roles:
        for config_key in CONFIG_KEYS:
            model = best_model(context.store, config_key)
            if model is not None:
                artifact = get_artifact(context.store, model.artifact_id)
                files.append(FileToMove(artifact.path, artifact.sha256))
    if "npz" in kinds and "train" in host.roles:
        files += [FileToMove(a.path, a.sha256) for a in unquarantined_artifacts(context.store, None, "npz")]
    return files


def push(context: Context, transport: Transport, root: str, files: list[FileToMove], report: HostSync, *,
         dry_run: bool, now: float) -> None:
    from ..store.hosts import record_transfer

    if dry_run:
        _, there = host_state(transport, root, [item.path for item in files])
        report.pushed = [item.path for item in files if there.get(item.path) != item.sha256]
        return
    try:
        batch = push_files(transport, context.home.root, root, files)
    except TransferRefused as exc:
        report.refused.append(str(exc))
        return
    report.pushed = [item.path for item in batch.moved if item.sent]
    report.refused += [item.refused for item in batch.refused]
    report.bytes += batch.bytes_sent
    if batch.bytes_sent:
        record_transfer(context.store, host=transport.host.name, direction="push", files=len(report.pushed),
                        size=batch.bytes_sent, now=now)


def remote_games(transport: Transport, root: str) -> list[FileToMove]:
    result = transport.run(["python3", "-c", LIST_GAMES, root, *CONFIG_KEYS], timeout=600)
    try:
        if not result.ok:
            raise ValueError(result.stderr.strip()[-200:] or "no answer")
        raw = json.loads(result.stdout)
        if not isinstance(raw, list) or len(raw) > MAX_LISTED:
            raise ValueError("not a list of files")
    except ValueError as exc:
        raise TransportError(f"host {transport.host.name}: cannot list its games under {root}: {exc}") from None
    files = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) \
                or not isinstance(item.get("sha256"), str) or not SHA256.match(item["sha256"]):
            continue
        parts = item["path"].split("/")
        if len(parts) == 3 and parts[0] == "games" and parts[1] in CONFIG_KEYS and SHARD_NAME.match(parts[2]):
            files.append(FileToMove(item["path"], item["sha256"]))
    return files


def pull_games(context: Context, transport: Transport, root: str, report: HostSync, *, dry_run: bool,
               now: float) -> None:
    """Pull the host's games shards whose sha256 the controller has not registered, and register them."""
    from ..store.artifacts import known_sha256
    from ..store.hosts import record_transfer

    host = transport.host.name
    listed = remote_games(transport, root)
    known = known_sha256(context.store, [item.sha256 for item in listed])
    wanted = [item for item in listed if item.sha256 not in known]
    local = Path("hosts") / host
    if dry_run:
        report.pulled = [str(local / item.path) for item in wanted]
        return
    if not wanted:
        return
    batch = pull_files(transport, root, context.home.root / local, wanted)
    report.refused += [item.refused for item in batch.refused]
    report.bytes += batch.bytes_sent
    if batch.bytes_sent:
        record_transfer(context.store, host=host, direction="pull", files=sum(m.sent for m in batch.moved),
                        size=batch.bytes_sent, now=now)
    for item in batch.moved:
        if item.refused:
            continue
        relative = str(local / item.path)
        reason = register_pulled_shard(context, host, relative, item.sha256, item.bytes)
        if reason:
            report.refused.append(reason)
        else:
            report.pulled.append(relative)


def register_pulled_shard(context: Context, host: str, relative: str, sha256: str, size: int) -> str | None:
    """Register a pulled games shard; the reason it was refused (and deleted) otherwise."""
    from ..ai.encoding import ENCODER_VERSION
    from ..store.artifacts import register_artifact_in
    from ..store.events import append_event
    from ..store.game_records import count_games, shard_meta

    path = context.home.root / relative
    config_key = Path(relative).parts[-2]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta, (games, moves) = shard_meta(conn), count_games(conn)
        finally:
            conn.close()
        if meta.get("config_key") != config_key or meta.get("encoder_version") != ENCODER_VERSION:
            raise ValueError(f"made for {meta.get('config_key')} with encoder {meta.get('encoder_version')}")
    except (sqlite3.DatabaseError, ValueError) as exc:
        path.unlink(missing_ok=True)
        reason = f"{relative} from {host} is not a finished {config_key} games shard of this encoder: {exc}"
        with context.store.write() as db:
            append_event(db, "run_refused", {"kind": "sync", "host": host, "reason": reason[:2000]},
                         config_key=config_key)
        return reason
    with context.store.write() as db:
        artifact, created = register_artifact_in(db, kind="games", config_key=config_key, path=relative,
                                                 sha256=sha256, size=size, meta={"games": games, "moves": moves},
                                                 host=host)
        if created:
            append_event(db, "games_recorded", {"artifact_id": artifact.id, "path": relative, "games": games,
                                                "moves": moves}, config_key=config_key,
                         dedup_key=f"games_recorded:{artifact.id}")
    return None
