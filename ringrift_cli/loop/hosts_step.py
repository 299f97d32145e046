"""The tick's work with hosts: collect finished runs from busy hosts, then dispatch queued jobs to free ones.

A job a host runs is claimed by the worker name ``host:<name>``. Collection polls every busy host in
parallel (one round trip for all its status files, then rsync for finished outputs) and acts on
the answers here, on the tick's own connection: a fresh heartbeat renews the lease, a finished run
is verified and published under the job's fence, a failed one fails the job with its log's tail.
A host that does not answer counts a failure on its breaker (``host:<name>``); its jobs return
through lease expiry, and once the cool-down has passed the next tick probes it again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..context import Context
from ..errors import UserError
from ..remote.hosts_file import Host
from ..remote.transfer import Batch, FileToMove, TransferRefused, pull_files, push_files
from ..remote.transport import TransportError, open_transport
from ..runner.spec import RUN_KINDS, RunSpec, write_spec
from ..runner.status import BadStatus, RunStatus, read_status
from ..store.breakers import list_breakers, record_failure, record_success
from ..store.events import append_event
from ..store.hosts import host_rows, record_health, record_transfer, save_hosts
from ..store.queue import Job, LeaseLost, QueuePolicy, claim, complete, fail, heartbeat, jobs_claimed_by, release
from .host_tidy import tidy_hosts

MAX_PARALLEL = 32
GPU_KINDS = ("train",)  # the kinds a host with GPUs takes before any other


def host_worker(name: str) -> str:
    return f"host:{name}"


def breaker_scope(name: str) -> str:
    return f"host:{name}"


@dataclass(frozen=True)
class HostKnobs:
    lease_seconds: float
    heartbeat_seconds: float
    breaker_failures: int
    breaker_cooldown_seconds: float
    probe_timeout: float = 30.0


@dataclass
class Poll:
    """What one busy host answered (gathered in a thread; acted on by the tick)."""

    host: Host
    error: str | None = None
    statuses: dict[int, RunStatus | str | None] = field(default_factory=dict)  # str: why it was refused
    pulled: dict[int, Batch] = field(default_factory=dict)


@dataclass
class HostsReport:
    dispatched: list[dict] = field(default_factory=list)
    collected: list[dict] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    tidied: list[dict] = field(default_factory=list)  # stale runs stopped, finished runs' folders removed


def knobs_of(context: Context, policy: QueuePolicy) -> HostKnobs:
    return HostKnobs(policy.lease_seconds, policy.lease_seconds * context.setting("worker.heartbeat_fraction"),
                     context.setting("breaker.failures"), context.setting("breaker.cooldown_seconds"))


def configured_hosts(context: Context) -> list[Host] | None:
    """The hosts of the hosts file ($RINGRIFT_HOSTS, else hosts.yaml in the data root), or None when
    there is none: then local workers run every job, as without hosts. An invalid file is an error."""
    import os

    from ..remote.hosts_file import HOSTS_ENV, HOSTS_FILE, load_hosts

    named = os.environ.get(HOSTS_ENV)
    path = Path(named) if named else context.home.root / HOSTS_FILE
    if not named and not path.is_file():
        return None
    # This machine runs in the controller's own data root unless its entry names another.
    root = str(context.home.root.resolve())
    return [replace(host, home=root) if host.is_local and host.home == Host.home else host for host in load_hosts(path)]


def usable_hosts(context: Context, hosts: list[Host], knobs: HostKnobs, now: float,
                 report: HostsReport | None = None) -> list[Host]:
    """Hosts whose breaker lets work through and whose health is ok. A host not known to be ok (never
    checked, or not ok when last seen) or whose breaker's cool-down has passed is probed first, in
    parallel; one that cannot be reached counts a failure on its breaker, so an unreachable host is
    probed on each tick only until its breaker opens, then again after each cool-down. A probed host
    that answers has its stale runs stopped (it may be back from an outage its jobs were requeued in)."""
    breakers = {b.scope: b for b in list_breakers(context.store)}
    rows = host_rows(context.store)
    usable, to_probe = [], []
    for host in hosts:
        breaker = breakers.get(breaker_scope(host.name))
        state = breaker.effective_state(now) if breaker else "closed"
        if state == "open":
            continue
        row = rows.get(host.name)
        if state == "half_open" or row is None or row.health != "ok":
            to_probe.append(host)
        else:
            usable.append(host)
    if to_probe:
        from ..remote.probe import check_hosts

        answered = []
        for host, probe in zip(to_probe, check_hosts(to_probe, timeout=knobs.probe_timeout)):
            record_health(context.store, name=host.name, ssh=host.ssh, slots=host.slots, gpus=host.gpus,
                          roles=host.roles, home=host.home, health=probe.health, reason=probe.reason,
                          reachable=probe.reachable, now=now)
            if probe.reachable:
                record_success(context.store, breaker_scope(host.name))
                answered.append(host)
            else:
                record_failure(context.store, breaker_scope(host.name), probe.reason or "unreachable",
                               threshold=knobs.breaker_failures, cooldown_seconds=knobs.breaker_cooldown_seconds)
            if probe.health == "ok":
                usable.append(host)
        tidied = tidy_hosts(context, answered, host_worker, now)
        if report is not None:
            report.tidied += tidied
    return usable


# ---------------------------------------------------------------- collection


def collect(context: Context, hosts: list[Host], policy: QueuePolicy, now: float, report: HostsReport) -> None:
    """Store the hosts' configuration, then poll every busy host and act on its answers."""
    save_hosts(context.store, hosts, now)
    knobs = knobs_of(context, policy)
    busy = {host.name: jobs_claimed_by(context.store, host_worker(host.name)) for host in hosts}
    breakers = {b.scope: b for b in list_breakers(context.store)}

    def polled(host: Host) -> bool:
        breaker = breakers.get(breaker_scope(host.name))
        return bool(busy[host.name]) and (breaker is None or breaker.effective_state(now) != "open")

    targets = [host for host in hosts if polled(host)]
    if not targets:
        return
    root = context.home.root
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(targets))) as pool:
        polls = list(pool.map(lambda host: poll_host(host, busy[host.name], root), targets))
    for poll in polls:
        settle_poll(context, poll, busy[poll.host.name], knobs, now, report)
    # A host some of whose jobs left it (finished, failed, refused) has run folders to remove.
    changed = [poll.host for poll in polls if poll.error is None and {job.id for job in busy[poll.host.name]}
               != {job.id for job in jobs_claimed_by(context.store, host_worker(poll.host.name))}]
    report.tidied += tidy_hosts(context, changed, host_worker, now)


def poll_host(host: Host, jobs: list[Job], local_root: Path) -> Poll:
    """Read the host's status files and pull the outputs of finished runs (checked by sha256)."""
    from ..remote.runs import read_status_texts

    poll = Poll(host)
    try:
        with open_transport(host) as transport:
            root = transport.expand(host.home)
            texts = read_status_texts(transport, root, [job.id for job in jobs]).texts
            for job in jobs:
                text = texts.get(job.id)
                if text is None:
                    poll.statuses[job.id] = None
                    continue
                try:
                    status = read_status(text, job.id)
                except BadStatus as exc:
                    poll.statuses[job.id] = str(exc)
                    continue
                poll.statuses[job.id] = status
                if status.state == "done" and status.claim_seq == job.claim_seq:
                    poll.pulled[job.id] = pull_files(transport, root, local_root,
                                                     [FileToMove(o.path, o.sha256) for o in status.outputs])
    except TransportError as exc:
        poll.error = str(exc)
    return poll


def settle_poll(context: Context, poll: Poll, jobs: list[Job], knobs: HostKnobs, now: float,
                report: HostsReport) -> None:
    host = poll.host
    store = context.store
    if poll.error is not None:
        record_failure(store, breaker_scope(host.name), poll.error, threshold=knobs.breaker_failures,
                       cooldown_seconds=knobs.breaker_cooldown_seconds)
        report.unreachable.append(f"{host.name}: {poll.error}")
        return
    record_success(store, breaker_scope(host.name))
    worker = host_worker(host.name)
    for job in jobs:
        status = poll.statuses.get(job.id)
        try:
            if isinstance(status, str):
                refuse(context, job, host, status, report)
            elif status is None or status.claim_seq != job.claim_seq:
                continue  # not started yet (or an older claim's leftovers): the lease decides
            elif status.state == "running":
                if now - status.heartbeat_at < knobs.lease_seconds:
                    heartbeat(store, job.id, worker, job.claim_seq, lease_seconds=knobs.lease_seconds)
            elif status.state == "failed":
                tail = f"; log: {status.log_tail.strip()[-1500:]}" if status.log_tail else ""
                fail(store, job.id, worker, job.claim_seq, f"on {host.name}: {status.error}{tail}",
                     context.queue_policy())
            else:
                finish(context, job, host, status, poll.pulled[job.id], now, report)
        except LeaseLost:
            continue  # the lease passed meanwhile: the job is someone else's now


def refuse(context: Context, job: Job, host: Host, reason: str, report: HostsReport) -> None:
    """Record the refusal (an event; nothing registered) and fail the attempt: it may run again."""
    with context.store.write() as conn:
        append_event(conn, "run_refused", {"kind": job.kind, "host": host.name, "reason": reason[:2000]},
                     config_key=job.config_key, job_id=job.id)
    fail(context.store, job.id, host_worker(host.name), job.claim_seq, f"refused from {host.name}: {reason}",
         context.queue_policy())
    report.refused.append({"job_id": job.id, "host": host.name, "reason": reason})


def finish(context: Context, job: Job, host: Host, status: RunStatus, batch: Batch, now: float,
           report: HostsReport) -> None:
    from ..runner.publish import OutputRefused
    from ..runner.spec import read_spec
    from ..stages.promote import BestChanged

    refused = [item.refused for item in batch.refused]
    sizes = {item.path: item.bytes for item in batch.moved}
    refused += [f"{o.path}: {sizes.get(o.path)} bytes arrived, its run reported {o.bytes}"
                for o in status.outputs if not batch.refused and sizes.get(o.path) != o.bytes]
    if refused:
        refuse(context, job, host, "; ".join(refused), report)
        return
    if batch.bytes_sent:
        record_transfer(context.store, host=host.name, direction="pull", files=sum(m.sent for m in batch.moved),
                        size=batch.bytes_sent, now=now)
    spec = read_spec(context.home.root / RunSpec(job.id, job.claim_seq, job.kind, job.config_key, {}).spec_path)
    worker = host_worker(host.name)
    try:
        result = publishers()[job.kind](context, job, worker, spec, status, host=host.name)
    except OutputRefused as exc:
        refuse(context, job, host, str(exc), report)
        return
    except LeaseLost:
        raise
    except (UserError, BestChanged) as exc:  # the stage refused at publish (promote: the best changed): retried
        fail(context.store, job.id, worker, job.claim_seq, f"publishing from {host.name}: {exc}",
             context.queue_policy())
        return
    complete(context.store, job.id, worker, job.claim_seq, result)
    report.collected.append({"job_id": job.id, "host": host.name, "kind": job.kind})


def publishers():
    from ..stages.eval import publish_eval
    from ..stages.export import publish_export
    from ..stages.promote import publish_promote
    from ..stages.selfplay import publish_selfplay
    from ..stages.train import publish_train

    return {"selfplay": publish_selfplay, "export": publish_export, "train": publish_train, "eval": publish_eval,
            "promote": publish_promote}


def planners():
    from ..stages.eval import plan_eval
    from ..stages.export import plan_export
    from ..stages.promote import plan_promote
    from ..stages.selfplay import plan_selfplay
    from ..stages.train import plan_train

    return {"selfplay": plan_selfplay, "export": plan_export, "train": plan_train, "eval": plan_eval,
            "promote": plan_promote}


# ---------------------------------------------------------------- dispatch


def claim_order(hosts: list[Host], kinds: tuple[str, ...] = RUN_KINDS) -> list[tuple[Host, tuple[tuple[str, ...], ...]]]:
    """Which hosts claim first, and the groups of kinds each tries in turn (within a group the queue's
    priority decides). Hosts with GPUs claim first and try the kinds that want a GPU before the
    rest, so such a job goes to a GPU host whenever one has a free slot; CPU hosts claim after them
    and take what is left (a train job too, once every GPU host is full). A host without any of
    ``kinds`` among its roles is left out."""
    order = []
    for host in sorted(hosts, key=lambda h: -h.gpus):  # stable: hosts.yaml's order among equals
        runnable = tuple(kind for kind in kinds if kind in host.roles)
        first = tuple(kind for kind in runnable if kind in GPU_KINDS) if host.gpus > 0 else ()
        rest = tuple(kind for kind in runnable if kind not in first)
        groups = tuple(group for group in (first, rest) if group)
        if groups:
            order.append((host, groups))
    return order


def dispatch(context: Context, hosts: list[Host], policy: QueuePolicy, now: float, report: HostsReport) -> None:
    """Give each usable host as many runnable jobs as it has free slots, in ``claim_order`` (GPU
    hosts first, train first on them). Claims and plans happen here; then every host at once gets,
    whatever its number of jobs, one push of the specs and the inputs it lacks and one command
    starting every run; the outcomes are recorded here again."""
    knobs = knobs_of(context, policy)
    work = []
    for host, groups in claim_order(usable_hosts(context, hosts, knobs, now, report)):
        free = host.slots - len(jobs_claimed_by(context.store, host_worker(host.name)))
        planned = []
        for _ in range(free):
            job = next_job(context, host, groups, policy, knobs)
            if job is None:
                break
            spec = plan_or_fail(context, host, job)
            if spec is not None:
                planned.append((job, spec))
        if planned:
            work.append((host, planned))
    if not work:
        return
    local = context.home.root
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(work))) as pool:
        sent = list(pool.map(lambda item: send_runs(item[0], local, item[1], knobs), work))
    for (host, planned), outcome in zip(work, sent):
        record_dispatch(context, host, planned, outcome, knobs, now, report)


def next_job(context: Context, host: Host, groups: tuple[tuple[str, ...], ...], policy: QueuePolicy,
             knobs: HostKnobs):
    """The host's next job: one pinned to it first (only it can run those), else any it can run, each
    time trying its groups of kinds in turn (see ``claim_order``)."""
    for pinned_only in (True, False):
        for kinds in groups:
            job = claim(context.store, host_worker(host.name), kinds, policy, host=host.name,
                        lease_seconds=knobs.lease_seconds, pinned_only=pinned_only)
            if job is not None:
                return job
    return None


def plan_or_fail(context: Context, host: Host, job: Job) -> RunSpec | None:
    """The job's spec, written under the controller's run folder; None when planning refused it
    (bad params or a refused input: no host can help, so the job fails for good)."""
    try:
        spec = planners()[job.kind](context, job)
    except UserError as exc:
        fail(context.store, job.id, host_worker(host.name), job.claim_seq, str(exc), context.queue_policy(),
             retry=False)
        return None
    write_spec(context.home.root, spec)
    return spec


def release_quietly(context: Context, host: Host, job: Job, reason: str) -> None:
    try:
        release(context.store, job.id, host_worker(host.name), job.claim_seq, reason)
    except LeaseLost:
        pass


def send_runs(host: Host, local: Path, planned: list[tuple[Job, RunSpec]], knobs: HostKnobs):
    """(In a thread.) Push the specs and the inputs the host lacks (checked by sha256 there), then start
    every run detached. Returns the push's Batch, or the TransferRefused / TransportError that stopped it."""
    from ..remote.runs import start_runs

    files = {}
    for _, spec in planned:
        for item in spec.inputs:
            files[item.path] = FileToMove(item.path, item.sha256)
        files[spec.spec_path] = FileToMove(spec.spec_path, sha256_file(local / spec.spec_path))
    try:
        with open_transport(host) as transport:
            root = transport.expand(host.home)
            batch = push_files(transport, local, root, list(files.values()))
            if batch.refused:
                raise TransferRefused("; ".join(item.refused for item in batch.refused))
            start_runs(transport, root, [spec for _, spec in planned], knobs.heartbeat_seconds)
            return batch
    except (TransferRefused, TransportError) as exc:
        return exc


def record_dispatch(context: Context, host: Host, planned: list[tuple[Job, RunSpec]], outcome, knobs: HostKnobs,
                    now: float, report: HostsReport) -> None:
    """A host that could not take its runs gives them back to the queue at once (and one that did
    not answer counts a failure on its breaker); one that did gets a ``run_dispatched`` event per run."""
    if isinstance(outcome, Exception):
        unreachable = not isinstance(outcome, TransferRefused)
        for job, _ in planned:
            release_quietly(context, host, job, f"host {host.name} " +
                            ("stopped answering" if unreachable else f"could not take it: {outcome}"))
            if not unreachable:
                report.refused.append({"job_id": job.id, "host": host.name, "reason": str(outcome)})
        if unreachable:
            record_failure(context.store, breaker_scope(host.name), str(outcome), threshold=knobs.breaker_failures,
                           cooldown_seconds=knobs.breaker_cooldown_seconds)
            report.unreachable.append(f"{host.name}: {outcome}")
        return
    batch = outcome
    sent = sum(item.sent for item in batch.moved)
    with context.store.write() as conn:
        for job, _ in planned:
            append_event(conn, "run_dispatched", {"kind": job.kind, "host": host.name, "files_sent": sent,
                                                  "bytes": batch.bytes_sent}, config_key=job.config_key,
                         job_id=job.id, at=now)
    if batch.bytes_sent:
        record_transfer(context.store, host=host.name, direction="push", files=sent, size=batch.bytes_sent, now=now)
    report.dispatched += [{"job_id": job.id, "host": host.name, "kind": job.kind} for job, _ in planned]


def sha256_file(path: Path) -> str:
    from ..files import sha256_of

    return sha256_of(path)
