"""The read-only queries behind ``ringrift status``; each uses an index so the whole
status stays fast on a file with hundreds of thousands of jobs."""

from __future__ import annotations

from dataclasses import dataclass

from .artifacts import PENDING
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


@dataclass(frozen=True)
class DataRow:
    config_key: str
    games_shards: int
    games: int
    unexported_shards: int
    npz_shards: int
    samples: int


def data_by_config(store: Store) -> list[DataRow]:
    """Recorded games and exported samples per config key."""
    rows = store.read(
        "SELECT a.config_key AS config_key,"
        " sum(a.kind = 'games') AS games_shards,"
        " sum(CASE WHEN a.kind = 'games' THEN coalesce(json_extract(a.meta, '$.games'), 0) END) AS games,"
        f" sum(a.kind = 'games' AND {PENDING}) AS unexported,"
        " sum(a.kind = 'npz') AS npz_shards,"
        " sum(CASE WHEN a.kind = 'npz' THEN coalesce(json_extract(a.meta, '$.samples'), 0) END) AS samples"
        # Quarantined files hold no usable games or samples: they are not counted.
        " FROM artifacts a WHERE a.kind IN ('games', 'npz') AND NOT EXISTS (SELECT 1 FROM artifact_flags q"
        " WHERE q.artifact_id = a.id AND q.flag = 'quarantined') GROUP BY a.config_key ORDER BY a.config_key",
        ("npz",),
    )
    return [DataRow(row["config_key"], row["games_shards"] or 0, row["games"] or 0, row["unexported"] or 0,
                    row["npz_shards"] or 0, row["samples"] or 0) for row in rows]


@dataclass(frozen=True)
class HostStatus:
    name: str
    health: str | None
    last_seen: float | None
    slots: int
    jobs: tuple[int, ...]  # the jobs it runs now
    bytes_moved: int  # to and from it, over the files_moved events still kept


def host_status(store: Store) -> list[HostStatus]:
    """Each host of the ``hosts`` table with the jobs it runs (claimed by ``host:<name>``) and its traffic."""
    from .hosts import bytes_moved

    jobs: dict[str, list[int]] = {}
    for row in store.read("SELECT id, claimed_by FROM jobs WHERE status = 'claimed' AND claimed_by LIKE 'host:%'"
                          " ORDER BY id"):
        jobs.setdefault(row["claimed_by"][len("host:"):], []).append(row["id"])
    moved = bytes_moved(store)
    return [HostStatus(row["name"], row["health"], row["last_seen"], row["slots"], tuple(jobs.get(row["name"], ())),
                       moved.get(row["name"], 0))
            for row in store.read("SELECT name, health, last_seen, slots FROM hosts ORDER BY name")]
