"""Stopping and removing the runs a host no longer needs, so that none goes on for nothing and a
host's disk does not fill over weeks.

A run is stale when its job is not claimed by its host under the run's claim any more: the host
stopped answering, the lease passed and the job went elsewhere. Such a run is never collected (its
status names an older claim) and is stopped the next time the host is reached: when it answers a
probe again, or after a collection. A run folder is removed once its job is finished; collection
pulled and checked its outputs, so nothing in it is needed. Both happen on the host in one round
trip (``remote/run_control.py``); the tick runs them for every host concerned at once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ..context import Context
from ..remote.hosts_file import Host
from ..remote.runs import Tidied, tidy_runs
from ..remote.transport import TransportError, open_transport
from ..store.events import append_event
from ..store.queue import jobs_claimed_by, unfinished_job_ids

MAX_PARALLEL = 32


def tidy_hosts(context: Context, hosts: list[Host], worker_of, now: float) -> list[dict]:
    """Tidy each host's runs (in parallel); record and return what was stopped or removed where.
    ``worker_of(name)`` is the worker name a host's claims carry. A host that cannot be reached is
    skipped: its runs are tidied next time."""
    if not hosts:
        return []
    unfinished = unfinished_job_ids(context.store)
    live = {host.name: {job.id: job.claim_seq for job in jobs_claimed_by(context.store, worker_of(host.name))}
            for host in hosts}

    def tidy(host: Host) -> Tidied | None:
        try:
            with open_transport(host) as transport:
                return tidy_runs(transport, transport.expand(host.home), live[host.name], unfinished)
        except TransportError:
            return None

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(hosts))) as pool:
        outcomes = list(pool.map(tidy, hosts))
    done = []
    with context.store.write() as conn:
        for host, outcome in zip(hosts, outcomes):
            if outcome is not None and (outcome.stopped or outcome.removed):
                entry = {"host": host.name, "stopped": outcome.stopped, "removed": outcome.removed}
                append_event(conn, "runs_tidied", entry, at=now)
                done.append(entry)
    return done
