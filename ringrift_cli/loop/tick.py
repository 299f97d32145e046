"""One tick: take the lock, reap, read the snapshot, decide, apply everything in one commit.

The commit holds the new jobs, the breaker rows, the cursor's advance, the pruning and
the ``ticks`` row together, so a tick killed at any point has either done all of its
work or none of it; the next tick decides again from the same table state, and dedup
keys make a repeated decision a no-op.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..context import Context
from ..store.breakers import list_breakers
from ..store.db import Store
from ..store.events import append_event, prune_passed_events_in
from ..store.loop_state import (
    active_job_counts, config_facts, current_lock, cursor_position, drop_lock, events_after, expired_games_shards,
    loop_mark, mark_file_deleted_in, move_cursor_in, optimize, record_tick_in, save_breaker_in,
    set_mark_in, surplus_retired_models, take_lock,
)
from ..store.queue import JobSpec, QueuePolicy, enqueue_in, expired_lease_count, reap_expired_in
from ..store.settings import setting_updated_at
from ..errors import UserError
from .actions import Decision, DeleteFile, Enqueue, Optimize, PruneEvents, SetBreaker, Wait, describe
from .breakers import OUTCOME_EVENTS
from .knobs import LoopSettings, loop_settings
from .policies import decide
from .snapshot import Snapshot

LOCK = "tick"
CURSOR = "loop"
MAINTENANCE = "maintenance"
SYNC = "sync"
# A tick folds at most this many job outcomes into the breakers; a backlog (a new cursor on a
# long history) is caught up over the next ticks instead of making one tick slow.
EVENTS_PER_TICK = 10_000


@dataclass
class TickReport:
    ran: bool
    held_by: str | None = None
    tick_id: int | None = None
    reaped: int = 0
    actions: list[dict] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    pressure: str = "none"
    pressure_reasons: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    hosts: dict | None = None  # what was dispatched to and collected from hosts (None: no hosts file)

    def to_dict(self) -> dict:
        return {"ran": self.ran, "held_by": self.held_by, "tick_id": self.tick_id, "dry_run": self.dry_run,
                "reaped": self.reaped, "actions": self.actions, "backpressure": self.pressure,
                "backpressure_reasons": list(self.pressure_reasons),
                "waits": [{"config_key": w.config_key, "stage": w.stage, "reason": w.reason} for w in self.waits],
                "errors": self.errors, **({"hosts": self.hosts} if self.hosts is not None else {})}


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """A holder on this machine whose process is gone (one elsewhere waits for its lock to expire)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def free_gb(root: Path) -> float:
    try:
        return shutil.disk_usage(root).free / 1e9
    except OSError:
        return float("inf")


def read_snapshot(store: Store, knobs: LoopSettings, now: float, free: float) -> tuple[Snapshot, int]:
    """The snapshot, and the event id the loop's cursor may move to once it is applied."""
    outcomes, upto = events_after(store, cursor_position(store, CURSOR), OUTCOME_EVENTS, EVENTS_PER_TICK)
    snapshot = Snapshot(
        now=now,
        configs={key: config_facts(store, key) for key in knobs.configs},
        active=tuple(active_job_counts(store)),
        breakers={b.scope: b for b in list_breakers(store) if b.scope.startswith("stage:")},
        outcomes=tuple(outcomes),
        free_gb=free,
        last_maintenance=loop_mark(store, MAINTENANCE),
        halted_at=setting_updated_at(store, "loop.halted") if knobs.halted else None,
        expired_games=tuple(expired_games_shards(store, now - knobs.games_seconds, knobs.max_deletions)),
        surplus_models=tuple(surplus_retired_models(store, knobs.keep_retired_models, knobs.max_deletions)),
    )
    return snapshot, upto


def plan_tick(context: Context, now: float, free: float | None = None,
              knobs: LoopSettings | None = None) -> tuple[Decision, Snapshot, int]:
    """Read and decide, writing nothing (what --dry-run shows)."""
    knobs = knobs or loop_settings(context.setting)
    snapshot, upto = read_snapshot(context.store, knobs, now, free_gb(context.home.root) if free is None else free)
    return decide(snapshot, knobs), snapshot, upto


def run_tick(context: Context, now: float, *, dry_run: bool = False, free: float | None = None,
             holder: str | None = None) -> TickReport:
    """One bounded pass of the loop at time ``now``."""
    if dry_run:
        decision, snapshot, _ = plan_tick(context, now, free)
        return report_of(decision, TickReport(ran=True, dry_run=True, reaped=expired_lease_count(context.store, now)))
    knobs = loop_settings(context.setting)
    holder = holder or holder_name()
    if take_lock(context.store, LOCK, holder, now, knobs.lock_seconds, holder_is_dead) is None:
        lock = current_lock(context.store, LOCK)
        return TickReport(ran=False, held_by=lock.holder if lock else None)
    # Here, not at the top: `status` imports this module, and every command would pay for the hosts' code.
    from .hosts_step import HostsReport, collect, configured_hosts, dispatch

    try:
        policy = context.queue_policy()
        errors, hosts, moved = [], None, HostsReport()
        try:
            hosts = configured_hosts(context)
        except UserError as exc:
            errors.append(f"hosts: {exc}")
        if hosts:
            collect(context, hosts, policy, now, moved)  # before the reap: fresh heartbeats renew leases
        with context.store.write() as conn:
            reaped = len(reap_expired_in(conn, policy, now))
        decision, snapshot, upto = plan_tick(context, now, free, knobs)
        report = report_of(decision, TickReport(ran=True, reaped=reaped, errors=errors))
        deletions = apply_decision(context, decision, upto, now, report, policy)
        delete_files(context, deletions, report)
        if hosts:
            if not knobs.halted:  # halted: runs in flight are still collected, none is started
                dispatch(context, hosts, policy, now, moved)
            report.hosts = {**asdict(moved), "synced": sync_when_due(context, hosts, now)}
        if any(isinstance(action, Optimize) for action in decision.actions):
            optimize(context.store)
        return report
    finally:
        drop_lock(context.store, LOCK, holder)


def sync_when_due(context: Context, hosts, now: float) -> list[dict] | None:
    """Run `ringrift sync` with the remote hosts when loop.sync_seconds have passed since the last."""
    from ..remote.sync import SYNC_KINDS, sync_hosts

    last = loop_mark(context.store, SYNC)
    remote = [host for host in hosts if not host.is_local]
    if not remote or (last is not None and now - last < context.setting("loop.sync_seconds")):
        return None
    reports = sync_hosts(context, remote, SYNC_KINDS, dry_run=False, now=now)
    with context.store.write() as conn:
        set_mark_in(conn, SYNC, now)
    return [asdict(report) for report in reports]


def report_of(decision: Decision, report: TickReport) -> TickReport:
    report.actions = [describe(action) for action in decision.actions]
    report.waits = decision.waits
    report.pressure = decision.pressure.level
    report.pressure_reasons = decision.pressure.reasons
    return report


def apply_decision(context: Context, decision: Decision, upto: int, now: float, report: TickReport,
                   policy: QueuePolicy) -> list[DeleteFile]:
    """Write every decision in one transaction; return the files to delete after the commit."""
    deletions = []
    with context.store.write() as conn:
        for action in decision.actions:
            if isinstance(action, Enqueue):
                spec = JobSpec(kind=action.kind, config_key=action.config_key, params=action.params,
                               priority=action.priority, dedup_key=action.dedup_key)
                enqueue_in(conn, spec, policy, at=now)
            elif isinstance(action, SetBreaker):
                row = action.breaker
                save_breaker_in(conn, row.scope, row.state, row.failures, row.last_error, row.opened_at,
                                row.retry_at, now)
                if action.event == "breaker_opened":
                    append_event(conn, "breaker_opened", {"scope": row.scope, "failures": row.failures,
                                                          "retry_at": row.retry_at, "error": row.last_error},
                                 at=now)
                elif action.event in ("breaker_half_open", "breaker_closed"):
                    append_event(conn, action.event, {"scope": action.scope}, at=now)
            elif isinstance(action, PruneEvents):
                prune_passed_events_in(conn, action.older_than)
                set_mark_in(conn, MAINTENANCE, now)
            elif isinstance(action, DeleteFile):
                # Marked first: a crash between the commit and the unlink leaves a file no row needs.
                mark_file_deleted_in(conn, action.artifact_id, now)
                append_event(conn, "artifact_file_deleted", {"artifact_id": action.artifact_id, "kind": action.kind,
                                                             "path": action.path, "reason": action.reason},
                             config_key=action.config_key, at=now)
                deletions.append(action)
        move_cursor_in(conn, CURSOR, upto, now)
        report.tick_id = record_tick_in(conn, now, now, report.actions, report.errors)
    return deletions


def delete_files(context: Context, deletions: list[DeleteFile], report: TickReport) -> None:
    root = context.home.root.resolve()
    for action in deletions:
        path = (root / action.path).resolve()
        if not path.is_relative_to(root):
            report.errors.append(f"not deleting {action.path}: outside the data root")
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            report.errors.append(f"cannot delete {path}: {exc}")
