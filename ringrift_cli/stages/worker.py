"""Claim jobs, run their handlers while heartbeating, complete or fail them, then exit.

A worker is not a daemon: it stops when no claimable work is left (or after
``max_jobs``). If it is killed, its lease simply runs out and the job goes
back to the queue for someone else.
"""

from __future__ import annotations

import os
import socket
import threading
import traceback
from dataclasses import dataclass, field
from typing import Callable

from ..context import Context
from ..store import StateFileError, Store, open_store
from ..store.queue import Job, LeaseLost, QueuePolicy, claim, complete_and_claim, fail, heartbeat
from .handlers import Handler, JobContext


@dataclass
class WorkerReport:
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # the claim was taken over before we finished


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(
    context: Context,
    handlers: dict[str, Handler],
    *,
    worker: str,
    kinds: tuple[str, ...],
    max_jobs: int | None = None,
    lease_seconds: float | None = None,
    on_event: Callable[[str, Job], None] = lambda what, job: None,
) -> WorkerReport:
    """Run jobs of ``kinds`` (only those with a handler) until none is claimable."""
    policy = context.queue_policy()
    lease = lease_seconds or policy.lease_seconds
    interval = lease * context.setting("worker.heartbeat_fraction")
    runnable = tuple(kind for kind in kinds if kind in handlers)
    report = WorkerReport()
    store = context.store
    handled = 0

    def wants_more() -> bool:
        return max_jobs is None or handled < max_jobs

    job = claim(store, worker, runnable, policy, lease_seconds=lease) if runnable and wants_more() else None
    while job is not None:
        on_event("claimed", job)
        result, error = run_handler(context, handlers[job.kind], job, worker, policy, lease, interval)
        handled += 1
        next_kinds = runnable if wants_more() else ()
        next_job = None
        try:
            if error is None:
                # The completion and the next claim share one commit.
                next_job = complete_and_claim(store, job, worker, result, next_kinds, policy, lease_seconds=lease)
                outcome = "done"
            else:
                fail(store, job.id, worker, job.attempts, error, policy)
                outcome = "failed"
        except LeaseLost:
            outcome = "lost"
        getattr(report, outcome).append(job.id)
        on_event(outcome, job)
        if outcome != "done" and next_kinds:
            next_job = claim(store, worker, next_kinds, policy, lease_seconds=lease)
        job = next_job
    return report


def run_handler(
    context: Context, handler: Handler, job: Job, worker: str, policy: QueuePolicy,
    lease: float, interval: float,
) -> tuple[dict | None, str | None]:
    """Run one claimed job's handler while heartbeating; return (result, error text or None)."""
    job_context = JobContext(home=context.home, worker=worker)
    beat = Heartbeat(context.store.path, job, worker, policy, lease, interval, job_context.lease_lost)
    beat.start()
    try:
        return handler(job, job_context), None
    except Exception as exc:  # a handler's failure is the job's failure, not the worker's
        return None, "".join(traceback.format_exception_only(exc)).strip()
    finally:
        beat.stop()


class Heartbeat:
    """Extends a job's lease from a background thread while its handler runs."""

    def __init__(self, path, job: Job, worker: str, policy: QueuePolicy, lease: float,
                 interval: float, lost: threading.Event):
        self.path, self.job, self.worker = path, job, worker
        self.policy, self.lease, self.interval, self.lost = policy, lease, interval, lost
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name=f"heartbeat-{job.id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()

    def run(self) -> None:
        # A connection of its own: sqlite3 connections stay on the thread that made them.
        store: Store = open_store(self.path)
        try:
            while not self.stopping.wait(self.interval):
                try:
                    heartbeat(store, self.job.id, self.worker, self.job.attempts, self.policy,
                              lease_seconds=self.lease)
                except LeaseLost:
                    self.lost.set()
                    return
                except StateFileError:
                    continue  # the file is busy; the next beat comes well before the lease ends
        finally:
            store.close()
