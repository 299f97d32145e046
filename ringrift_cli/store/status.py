"""The read-only queries behind ``ringrift status``; each uses an index so the whole
status stays fast on a file with hundreds of thousands of jobs."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Store
from .queue import Job


@dataclass(frozen=True)
class DepthRow:
    kind: str
    status: str
    count: int


def queue_depth(store: Store) -> list[DepthRow]:
    rows = store.read("SELECT kind, status, count(*) AS n FROM jobs GROUP BY kind, status")
    return [DepthRow(row["kind"], row["status"], row["n"]) for row in rows]


def claimed_jobs(store: Store, limit: int = 50) -> list[Job]:
    rows = store.read(
        "SELECT * FROM jobs WHERE status = 'claimed' ORDER BY lease_until LIMIT ?", (limit,)
    )
    return [Job.from_row(row) for row in rows]


def dead_jobs(store: Store, limit: int = 50) -> list[Job]:
    rows = store.read(
        "SELECT * FROM jobs WHERE status = 'dead' ORDER BY updated_at DESC LIMIT ?", (limit,)
    )
    return [Job.from_row(row) for row in rows]
