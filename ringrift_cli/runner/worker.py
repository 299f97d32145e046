"""Claim jobs, run their handlers while heartbeating, complete or fail them, then exit.

A worker is not a daemon: it stops when no claimable work is left (or after
``max_jobs``). If it is killed, its lease simply runs out and the job goes
back to the queue for someone else.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, ContextManager

from ..context import Context
from ..errors import UserError, is_disk_full
from ..store import StateFileError, Store, open_store
from ..store.queue import (Job, JobSpec, LeaseLost, QueuePolicy, claim, complete, complete_and_claim,
                           enqueue_and_claim, fail, heartbeat, release)
from ..stages.handlers import Handler, JobContext


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
    progress_for: Callable[[Job], ContextManager] = lambda job: nullcontext(lambda done, total, detail: None),
) -> WorkerReport:
    """Run jobs of ``kinds`` (only those with a handler) until none is claimable.

    ``progress_for(job)`` gives a context manager yielding the job's progress callback
    (a terminal draws a bar with it)."""
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
        with progress_for(job) as progress:
            result, error = run_handler_releasing(context, handlers[job.kind], job, worker, policy, lease,
                                                  interval, progress)
        handled += 1
        next_kinds = runnable if wants_more() else ()
        next_job, finished = None, job
        try:
            if error is None:
                # The completion and the next claim share one commit.
                next_job = complete_and_claim(store, job, worker, result, next_kinds, policy, lease_seconds=lease)
                outcome = "done"
            else:
                finished = fail(store, job.id, worker, job.claim_seq, error.message, policy,
                                retry=not error.permanent)
                outcome = "failed"
        except LeaseLost:
            outcome = "lost"
        getattr(report, outcome).append(job.id)
        on_event(outcome, finished)  # a failed job carries its error and what happens next
        if outcome != "done" and next_kinds:
            next_job = claim(store, worker, next_kinds, policy, lease_seconds=lease)
        job = next_job
    return report


def run_handler_releasing(context: Context, handler: Handler, job: Job, worker: str, policy: QueuePolicy,
                          lease: float, interval: float, progress=lambda done, total, detail: None):
    """``run_handler``, but Ctrl-C (or SIGTERM turned into KeyboardInterrupt) gives the job back
    to the queue at once instead of leaving it claimed until its lease runs out."""
    try:
        return run_handler(context, handler, job, worker, policy, lease, interval, progress)
    except KeyboardInterrupt as exc:
        # A second signal (Ctrl-C reaches the whole group, then `loop run` sends SIGTERM) must not
        # cut the hand-back short and leave the job claimed until its lease ends.
        with signals_held():
            try:
                release(context.store, job.id, worker, job.claim_seq, "interrupted")
                exc.args = (f"{job.kind} job {job.id} handed back to the queue",)  # the CLI says so
            except LeaseLost:
                pass
        raise


@contextmanager
def signals_held():
    """Ignore SIGINT and SIGTERM for the duration (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_handler(
    context: Context, handler: Handler, job: Job, worker: str, policy: QueuePolicy,
    lease: float, interval: float, progress=lambda done, total, detail: None,
) -> tuple[dict | None, "HandlerError | None"]:
    """Run one claimed job's handler while heartbeating; return (result, error or None)."""
    job_context = JobContext(context=context, worker=worker, progress=progress)
    beat = Heartbeat(context.store.path, job, worker, policy, lease, interval, job_context.lease_lost)
    beat.start()
    try:
        return checked_result(handler(job, job_context)), None
    except UserError as exc:
        # Bad params or a refused input: retrying cannot help (a busy state file can).
        return None, HandlerError(str(exc), permanent=not isinstance(exc, StateFileError))
    except Exception as exc:  # a handler's failure is the job's failure, not the worker's
        said = "".join(traceback.format_exception_only(exc)).strip()
        return None, HandlerError(f"disk full: {said}" if is_disk_full(exc) else said, permanent=False)
    finally:
        beat.stop()


class BadResult(UserError):
    """A handler returned something that is not a JSON object (a bug in the handler: not retried)."""


def checked_result(result):
    """The handler's result if it is None or a dict that JSON can store exactly, else BadResult."""
    import json

    if result is None:
        return None
    if not isinstance(result, dict):
        raise BadResult(f"handler returned {type(result).__name__}, not a dict or None")
    from ..json_input import MAX_DEPTH, depth_of

    if depth_of(result) > MAX_DEPTH:
        raise BadResult(f"handler result nests more than {MAX_DEPTH} levels deep")
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadResult(f"handler result is not plain JSON: {str(exc)[:200]}") from None
    return result


@dataclass(frozen=True)
class HandlerError:
    message: str
    permanent: bool  # True: straight to dead; False: retried while attempts remain


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
                    heartbeat(store, self.job.id, self.worker, self.job.claim_seq, lease_seconds=self.lease)
                except LeaseLost:
                    self.lost.set()
                    return
                except StateFileError:
                    continue  # the file is busy; the next beat comes well before the lease ends
        finally:
            store.close()


def run_here(
    context: Context, spec: JobSpec, handler: Handler, *, worker: str | None = None,
    progress=lambda done, total, detail: None,
) -> Job:
    """Enqueue a job and run it in this process, as a stage command typed by hand does.

    The job is an ordinary row: if this process dies, its lease runs out and
    any worker can pick it up. Returns the finished job; a handler failure is
    recorded on the job and raised as StageFailed.
    """
    policy = context.queue_policy()
    worker = worker or default_worker_name()
    job = enqueue_and_claim(context.store, spec, worker, policy)
    interval = policy.lease_seconds * context.setting("worker.heartbeat_fraction")
    result, error = run_handler_releasing(context, handler, job, worker, policy, policy.lease_seconds, interval,
                                          progress)
    if error is not None:
        try:
            failed = fail(context.store, job.id, worker, job.claim_seq, error.message, policy,
                          retry=not error.permanent)
        except StateFileError as exc:
            raise StageFailed(f"{job.kind} job {job.id} failed: {error.message}; recording that failed too ({exc}); "
                              f"the job returns to the queue when its lease ends") from None
        raise StageFailed(f"{job.kind} job {job.id} failed: {error.message} (now {failed.status})")
    return complete(context.store, job.id, worker, job.claim_seq, result)


class StageFailed(UserError):
    """A stage run by hand failed; the job row keeps the error and its retry state."""
