"""The work-queue: enqueue, claim, heartbeat, complete, fail, reap, and the admin verbs.

Life of a job::

    queued --claim--> claimed --complete--> done
       ^                 |
       |  fail / lease   |  (attempts left: back to queued after a backoff;
       +-----------------+   none left: dead, with the last error kept)

    queued|claimed --cancel--> cancelled;   dead|cancelled --retry--> queued

A claim is one ``UPDATE ... WHERE id = (SELECT ...) RETURNING`` inside
``BEGIN IMMEDIATE``; it bumps ``attempts`` (the retry budget) and
``claim_seq`` (which only ever grows). The pair (claimed_by, claim_seq)
fences the claim: heartbeat, complete and fail must name both, so a worker
whose lease was taken over can no longer touch the job, even if the job was
retried and claimed again under the same worker name.
"""

from __future__ import annotations

import json
import math
import sqlite3
import uuid
from dataclasses import dataclass, field

from ..errors import UserError
from ..keys import check_host_name, check_worker_name
from ..settings import MAX_INT, lease_bounds
from .db import Store, now
from .events import append_event

STATUSES = ("queued", "claimed", "done", "dead", "cancelled")


@dataclass(frozen=True)
class QueuePolicy:
    """Lease and retry numbers. Build it from the effective settings (``Context.queue_policy``);
    ``default_policy()`` gives the settings' defaults, for library callers and tests."""

    lease_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_max_seconds: float

    def backoff(self, attempts: int) -> float:
        """Delay before retry number ``attempts`` (1-based): doubling, capped."""
        # The exponent is capped too: 2.0 ** 1100 overflows a float long before any sane cap.
        return min(self.backoff_base_seconds * 2.0 ** min(max(attempts - 1, 0), 60), self.backoff_max_seconds)


def default_policy() -> QueuePolicy:
    from ..settings import default_of

    return QueuePolicy(default_of("queue.lease_seconds"), default_of("queue.max_attempts"),
                       default_of("queue.backoff_base_seconds"), default_of("queue.backoff_max_seconds"))


def check_lease(lease: float) -> float:
    """A positive lease no longer than the setting queue.lease_seconds allows (the one source of the
    bound; the library also takes sub-second leases, which tests use)."""
    high = lease_bounds()[1]
    if not (isinstance(lease, (int, float)) and math.isfinite(lease) and 0 < lease <= high):
        raise UserError(f"lease must be a number of seconds above 0 and at most {high:g}, got {lease!r}")
    return float(lease)


@dataclass(frozen=True)
class JobSpec:
    """What to enqueue. ``max_attempts`` None means the policy's default."""

    kind: str
    config_key: str
    params: dict = field(default_factory=dict)
    priority: int = 0
    dedup_key: str | None = None
    max_attempts: int | None = None
    host: str | None = None
    parent_id: int | None = None
    trace_id: str | None = None


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    config_key: str
    params: dict
    status: str
    priority: int
    host: str | None
    claimed_by: str | None
    lease_until: float | None
    heartbeat_at: float | None
    attempts: int
    max_attempts: int
    not_before: float
    dedup_key: str | None
    trace_id: str
    parent_id: int | None
    result: dict | None
    error: str | None
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    claim_seq: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job":
        # Positional: the fields above are declared in the table's column order
        # (a test holds the two together), and this runs on every queue operation.
        values = list(row)
        values[3] = stored_json(values[0], "params", values[3])
        if values[16] is not None:
            values[16] = stored_json(values[0], "result", values[16])
        return cls(*values)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class UnreadableRow(UserError):
    """A job row whose params or result no bounded JSON reader accepts (written by an older ringrift)."""


def stored_json(job_id: int, column: str, text: str):
    from ..json_input import loads

    try:
        return loads(text, f"job {job_id}'s stored {column}")
    except UserError as exc:
        raise UnreadableRow(str(exc)) from None


class LeaseLost(UserError):
    """The caller no longer holds the job: it was reaped, taken over, cancelled or finished."""


class JobNotFound(UserError):
    pass


def enqueue(store: Store, spec: JobSpec, policy: QueuePolicy | None = None) -> tuple[Job, bool]:
    """Add a job; return it and whether it is new.

    A ``dedup_key`` that already exists returns the existing job unchanged.
    """
    with store.write() as conn:
        return enqueue_in(conn, spec, policy or default_policy())


def enqueue_in(conn: sqlite3.Connection, spec: JobSpec, policy: QueuePolicy,
               at: float | None = None) -> tuple[Job, bool]:
    """``enqueue`` inside a transaction the caller holds (the loop enqueues several at once,
    at the time ``at`` of its tick).

    The params are checked against the kind's schema here, the one place every job enters."""
    from ..stages.param_schema import check_params  # light: names, types and ranges only

    params = check_params(spec.kind, spec.params)
    if spec.host is not None:
        check_host_name(spec.host)
    if not 0 <= spec.priority <= MAX_INT:
        raise UserError(f"priority must be between 0 and {MAX_INT}, got {spec.priority}")
    max_attempts = spec.max_attempts if spec.max_attempts is not None else policy.max_attempts
    if max_attempts < 1:
        raise UserError(f"max attempts must be 1 or more, got {max_attempts}")
    if spec.dedup_key is not None:
        row = conn.execute("SELECT * FROM jobs WHERE dedup_key = ?", (spec.dedup_key,)).fetchone()
        if row is not None:
            return Job.from_row(row), False
    at = now() if at is None else at
    row = conn.execute(
        "INSERT INTO jobs (kind, config_key, params, priority, host, max_attempts, dedup_key,"
        " trace_id, parent_id, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (spec.kind, spec.config_key, json.dumps(params, sort_keys=True, allow_nan=False), spec.priority,
         spec.host, max_attempts, spec.dedup_key, spec.trace_id or uuid.uuid4().hex,
         spec.parent_id, at, at),
    ).fetchone()
    job = Job.from_row(row)
    append_event(conn, "job_enqueued",
                 {"kind": job.kind, "priority": job.priority, "dedup_key": job.dedup_key},
                 config_key=job.config_key, job_id=job.id, at=at)
    return job, True


def claim(
    store: Store,
    worker: str,
    kinds: tuple[str, ...],
    policy: QueuePolicy | None = None,
    *,
    host: str | None = None,
    lease_seconds: float | None = None,
    pinned_only: bool = False,
) -> Job | None:
    """Claim the most urgent ready job of one of ``kinds``, or return None.

    Expired leases are reaped first in the same transaction, so a dead
    worker's job is claimable again as soon as its lease has passed. Jobs
    pinned to a host are only given to a claimer naming that host; with
    ``pinned_only`` that claimer takes only jobs pinned to it.
    """
    if not kinds:
        return None
    with store.write() as conn:
        return claim_in(conn, worker, kinds, policy or default_policy(), host, lease_seconds, now(),
                        pinned_only=pinned_only)


def claim_in(
    conn: sqlite3.Connection, worker: str, kinds: tuple[str, ...], policy: QueuePolicy,
    host: str | None, lease_seconds: float | None, at: float, *, pinned_only: bool = False,
) -> Job | None:
    lease = check_lease(policy.lease_seconds if lease_seconds is None else lease_seconds)
    check_worker_name(worker)
    if host is not None:
        check_host_name(host)
    reap_expired_in(conn, policy, at)
    placeholders = ",".join("?" * len(kinds))
    while True:
        row = conn.execute(
            CLAIM_SET
            # INDEXED BY: left to itself the planner may sort every queued job of the kind.
            + " WHERE id = (SELECT id FROM jobs INDEXED BY jobs_ready WHERE status = 'queued' AND not_before <= ?"
            f" AND kind IN ({placeholders}) AND ({'' if pinned_only else 'host IS NULL OR '}host = ?)"
            " ORDER BY priority DESC, id LIMIT 1)"
            " RETURNING *",
            (worker, at + lease, at, at, at, at, *kinds, host),
        ).fetchone()
        if row is None:
            return None
        try:
            return record_claim(conn, Job.from_row(row), worker, at)
        except UnreadableRow as exc:
            # Give it to no one (it would fail every claim after it), and claim the next job.
            bury_unreadable_in(conn, row, worker, str(exc), at)


def bury_unreadable_in(conn: sqlite3.Connection, row: sqlite3.Row, worker: str, error: str, at: float) -> None:
    # Params and result are cleared: kept, they would make every later read of the row fail.
    error = f"{error}; cleared"
    conn.execute("UPDATE jobs SET status = 'dead', lease_until = NULL, error = ?, params = '{}', result = NULL,"
                 " finished_at = ?, updated_at = ? WHERE id = ?", (error, at, at, row["id"]))
    append_event(conn, "job_failed", {"kind": row["kind"], "worker": worker, "attempt": row["attempts"],
                                      "error": error, "next_status": "dead", "not_before": None},
                 config_key=row["config_key"], job_id=row["id"], at=at)


CLAIM_SET = ("UPDATE jobs SET status = 'claimed', claimed_by = ?, attempts = attempts + 1, claim_seq = claim_seq + 1,"
             " lease_until = ?, heartbeat_at = ?, started_at = ?, updated_at = ?")


def record_claim(conn: sqlite3.Connection, job: Job, worker: str, at: float) -> Job:
    append_event(conn, "job_claimed",
                 {"kind": job.kind, "worker": worker, "attempt": job.attempts, "lease_until": job.lease_until},
                 config_key=job.config_key, job_id=job.id, at=at)
    return job


def enqueue_and_claim(store: Store, spec: JobSpec, worker: str, policy: QueuePolicy | None = None) -> Job:
    """Add a job and claim it for ``worker`` in one transaction (a stage command run by hand),
    so that no worker running meanwhile can take it first."""
    policy = policy or default_policy()
    lease = check_lease(policy.lease_seconds)
    check_worker_name(worker)
    with store.write() as conn:
        job, _ = enqueue_in(conn, spec, policy)
        at = now()
        row = conn.execute(
            CLAIM_SET + " WHERE id = ? AND status = 'queued' RETURNING *",
            (worker, at + lease, at, at, at, job.id),
        ).fetchone()
        if row is None:
            held = f" (held by {job.claimed_by})" if job.status == "claimed" else ""
            raise UserError(f"job {job.id} (dedup key {spec.dedup_key!r}) cannot be claimed now: it is {job.status}{held}")
        return record_claim(conn, Job.from_row(row), worker, at)


FENCE = "id = ? AND status = 'claimed' AND claimed_by = ? AND claim_seq = ?"


def fenced_update(conn: sqlite3.Connection, job_id: int, worker: str, claim: int,
                  assignments: str, values: tuple) -> Job:
    """Apply ``assignments`` to the job only if ``worker`` still holds claim number ``claim``.

    The claim number is required: a worker name alone cannot tell a holder from a stale one
    that reused the name after losing its lease.

    One statement, so the ownership check and the change cannot be separated.
    Raises LeaseLost (or JobNotFound) when the fence does not match.
    """
    row = conn.execute(
        f"UPDATE jobs SET {assignments} WHERE {FENCE} RETURNING *",
        (*values, job_id, worker, claim),
    ).fetchone()
    if row is not None:
        return Job.from_row(row)
    job = get_job_in(conn, job_id)
    held = f"claimed by {job.claimed_by} (claim {job.claim_seq})" if job.status == "claimed" else job.status
    raise LeaseLost(f"job {job_id} is no longer held by {worker}: it is {held}")


def check_held_in(conn: sqlite3.Connection, job_id: int, worker: str, claim: int) -> Job:
    """Inside the caller's transaction: the job if ``worker`` still holds claim ``claim``, else
    LeaseLost. Stages call it where they register outputs, so a holder that lost its lease
    cannot publish anything."""
    return fenced_update(conn, job_id, worker, claim, "updated_at = updated_at", ())


def heartbeat(
    store: Store, job_id: int, worker: str, claim: int, *, lease_seconds: float | None = None,
) -> Job:
    """Extend the lease of a job the worker still holds; raise LeaseLost otherwise.

    Without ``lease_seconds`` the claim keeps its own lease length (the one it was claimed or
    last heartbeaten with), never the default, which may be shorter."""
    with store.write() as conn:
        at = now()
        if lease_seconds is None:
            # lease_until - heartbeat_at is the length the claim was last given.
            return fenced_update(conn, job_id, worker, claim,
                                 "lease_until = ? + (lease_until - heartbeat_at), heartbeat_at = ?, updated_at = ?",
                                 (at, at, at))
        lease = check_lease(lease_seconds)
        return fenced_update(conn, job_id, worker, claim,
                             "lease_until = ?, heartbeat_at = ?, updated_at = ?", (at + lease, at, at))


def complete(
    store: Store, job_id: int, worker: str, claim: int, result: dict | None = None,
) -> Job:
    """Mark a held job done with its result; raise LeaseLost if the worker lost it."""
    with store.write() as conn:
        return complete_in(conn, job_id, worker, claim, result, now())


def complete_and_claim(
    store: Store, job: Job, worker: str, result: dict | None, kinds: tuple[str, ...],
    policy: QueuePolicy | None = None, *, host: str | None = None, lease_seconds: float | None = None,
) -> Job | None:
    """Complete ``job`` and claim the next one in a single transaction (what a worker loop does).

    Saves one commit per job; if the completion is refused (LeaseLost) nothing is claimed.
    """
    with store.write() as conn:
        at = now()
        complete_in(conn, job.id, worker, job.claim_seq, result, at)
        return claim_in(conn, worker, kinds, policy or default_policy(), host, lease_seconds, at) if kinds else None


def complete_in(
    conn: sqlite3.Connection, job_id: int, worker: str, claim: int, result: dict | None, at: float,
) -> Job:
    job = fenced_update(
        conn, job_id, worker, claim,
        "status = 'done', result = ?, error = NULL, lease_until = NULL, finished_at = ?, updated_at = ?",
        (json.dumps(result, sort_keys=True, allow_nan=False) if result is not None else None, at, at),
    )
    append_event(conn, "job_completed",
                 {"kind": job.kind, "worker": worker, "attempt": job.attempts, "result": result},
                 config_key=job.config_key, job_id=job.id, at=at)
    return job


def fail(
    store: Store, job_id: int, worker: str, claim: int, error: str,
    policy: QueuePolicy | None = None, *, retry: bool = True,
) -> Job:
    """Record a failed attempt: back to queued after a backoff, or dead when out of attempts.

    ``retry=False`` sends the job straight to dead (the error will not go away by retrying).
    """
    with store.write() as conn:
        return fail_in(conn, job_id, worker, claim, error, policy or default_policy(), now(), retry=retry)


def fail_in(conn: sqlite3.Connection, job_id: int, worker: str, claim: int | None, error: str,
            policy: QueuePolicy, at: float, *, retry: bool = True) -> Job:
    """``fail`` inside the caller's transaction, at time ``at``."""
    job = fenced_update(conn, job_id, worker, claim, "updated_at = updated_at", ())
    updated = release_in(conn, job, policy, at, error, retry=retry)
    append_event(conn, "job_failed",
                 {"kind": job.kind, "worker": worker, "attempt": job.attempts, "error": error,
                  "next_status": updated.status,
                  "not_before": updated.not_before if updated.status == "queued" else None},
                 config_key=job.config_key, job_id=job.id, at=at)
    return updated


def release_in(
    conn: sqlite3.Connection, job: Job, policy: QueuePolicy, at: float, error: str | None,
    *, retry: bool = True,
) -> Job:
    """Give a claimed job back: queued with backoff while attempts remain, else dead."""
    if retry and job.attempts < job.max_attempts:
        row = conn.execute(
            "UPDATE jobs SET status = 'queued', claimed_by = NULL, lease_until = NULL,"
            " not_before = ?, error = coalesce(?, error), updated_at = ? WHERE id = ? RETURNING *",
            (at + policy.backoff(job.attempts), error, at, job.id),
        ).fetchone()
    else:
        row = conn.execute(
            "UPDATE jobs SET status = 'dead', lease_until = NULL, error = coalesce(?, error),"
            " finished_at = ?, updated_at = ? WHERE id = ? RETURNING *",
            (error, at, at, job.id),
        ).fetchone()
    return Job.from_row(row)


def release(store: Store, job_id: int, worker: str, claim: int, reason: str) -> Job:
    """Give a held job back at once without using up an attempt (the worker was interrupted,
    not the job at fault); the next claim may take it immediately."""
    with store.write() as conn:
        at = now()
        job = fenced_update(conn, job_id, worker, claim,
                            "status = 'queued', claimed_by = NULL, lease_until = NULL, attempts = attempts - 1,"
                            " not_before = ?, updated_at = ?", (at, at))
        append_event(conn, "job_released", {"kind": job.kind, "worker": worker, "reason": reason},
                     config_key=job.config_key, job_id=job.id, at=at)
        return job


def reap_expired(store: Store, policy: QueuePolicy | None = None) -> list[Job]:
    """Return every claimed job whose lease has passed to the queue (or to dead)."""
    with store.write() as conn:
        return reap_expired_in(conn, policy or default_policy(), now())


def expired_lease_count(store: Store, at: float) -> int:
    """Claimed jobs whose lease has passed by ``at`` (what the next reap would return to the queue)."""
    return store.read("SELECT count(*) AS n FROM jobs WHERE status = 'claimed' AND lease_until < ?", (at,))[0]["n"]


def reap_expired_in(conn: sqlite3.Connection, policy: QueuePolicy, at: float) -> list[Job]:
    rows = conn.execute(
        "SELECT * FROM jobs WHERE status = 'claimed' AND lease_until < ?", (at,)
    ).fetchall()
    reaped = []
    for row in rows:
        job = Job.from_row(row)
        error = f"lease expired (worker {job.claimed_by}, attempt {job.attempts}, no heartbeat)"
        updated = release_in(conn, job, policy, at, error)
        append_event(conn, "job_lease_expired",
                     {"kind": job.kind, "worker": job.claimed_by, "attempt": job.attempts,
                      "next_status": updated.status,
                      "not_before": updated.not_before if updated.status == "queued" else None},
                     config_key=job.config_key, job_id=job.id, at=at)
        reaped.append(updated)
    return reaped


def retry(store: Store, job_id: int) -> Job:
    """Put a dead or cancelled job back in the queue with a fresh set of attempts."""
    with store.write() as conn:
        job = get_job_in(conn, job_id)
        if job.status not in ("dead", "cancelled"):
            raise UserError(f"job {job_id} is {job.status}; only dead or cancelled jobs can be retried")
        at = now()
        row = conn.execute(
            "UPDATE jobs SET status = 'queued', attempts = 0, not_before = 0, claimed_by = NULL,"
            " finished_at = NULL, updated_at = ? WHERE id = ? RETURNING *",
            (at, job_id),
        ).fetchone()
        append_event(conn, "job_retried", {"kind": job.kind, "previous_status": job.status},
                     config_key=job.config_key, job_id=job.id, at=at)
        return Job.from_row(row)


def cancel(store: Store, job_id: int) -> Job:
    """Cancel a queued or claimed job; a worker holding it can then no longer complete it."""
    with store.write() as conn:
        job = get_job_in(conn, job_id)
        if job.status not in ("queued", "claimed"):
            raise UserError(f"job {job_id} is {job.status}; only queued or claimed jobs can be cancelled")
        at = now()
        row = conn.execute(
            "UPDATE jobs SET status = 'cancelled', lease_until = NULL, finished_at = ?,"
            " updated_at = ? WHERE id = ? RETURNING *",
            (at, at, job_id),
        ).fetchone()
        append_event(conn, "job_cancelled", {"kind": job.kind, "previous_status": job.status},
                     config_key=job.config_key, job_id=job.id, at=at)
        return Job.from_row(row)


def purge(store: Store, statuses: tuple[str, ...], older_than_seconds: float) -> int:
    """Delete finished jobs of ``statuses`` last updated more than ``older_than_seconds`` ago."""
    allowed = ("done", "dead", "cancelled")
    bad = [s for s in statuses if s not in allowed]
    if bad or not statuses:
        raise UserError(f"purge works on finished jobs only: {', '.join(allowed)}")
    placeholders = ",".join("?" * len(statuses))
    with store.write() as conn:
        at = now()
        count = conn.execute(
            f"DELETE FROM jobs WHERE status IN ({placeholders}) AND updated_at < ?",
            (*statuses, at - older_than_seconds),
        ).rowcount
        append_event(conn, "jobs_purged",
                     {"statuses": list(statuses), "older_than_seconds": older_than_seconds,
                      "count": count}, at=at)
        return count


def jobs_claimed_by(store: Store, worker: str) -> list[Job]:
    """The jobs ``worker`` holds now (a host's runs in flight), oldest claim first."""
    rows = store.read("SELECT * FROM jobs WHERE status = 'claimed' AND claimed_by = ? ORDER BY started_at, id",
                      (worker,))
    return [Job.from_row(row) for row in rows]


def unfinished_job_ids(store: Store) -> list[int]:
    """Ids of the jobs still queued or claimed: their run folders on hosts may be wanted again."""
    return [row["id"] for row in store.read("SELECT id FROM jobs WHERE status IN ('queued', 'claimed') ORDER BY id")]


def get_job_in(conn: sqlite3.Connection, job_id: int) -> Job:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    return Job.from_row(row)


def get_job(store: Store, job_id: int) -> Job:
    return get_job_in(store.conn, job_id)


def list_jobs(
    store: Store, *, status: str | None = None, kind: str | None = None, limit: int = 100,
) -> list[Job]:
    """Jobs newest first, optionally filtered by status and kind."""
    clauses, params = [], []
    if status is not None:
        if status not in STATUSES:
            raise UserError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
        clauses.append("status = ?")
        params.append(status)
    if kind is not None:
        clauses.append("kind = ?")
        params.append(kind)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = store.read(f"SELECT * FROM jobs {where} ORDER BY id DESC LIMIT ?", (*params, limit))
    return [Job.from_row(row) for row in rows]
