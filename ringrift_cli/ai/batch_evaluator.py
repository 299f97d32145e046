"""One network for many search processes: the batching evaluator process of a job.

Each search process encodes its leaves itself and sends the batch's planes
to this process, which waits briefly until every search process has sent
its request (or ``GATHER_SECONDS`` pass), runs them as one network call and
returns each its rows. It lives exactly as long as the job: it ends when the
last search process closes its pipe, and dies with the job's process.

Only the logits a leaf's moves read travel back: a full hex8 policy row is
25 KB against a few hundred bytes for its legal moves, and at tens of
thousands of leaves a second the full rows would make this one process's
pipe writes the job's limit.

Both ends time their side of the pipe (``PipeTimes``, ``EvaluatorTimes``),
so a benchmark can say where a job's time goes.
"""

from __future__ import annotations

import time
from dataclasses import astuple, dataclass
from itertools import chain
from multiprocessing import connection

import numpy as np

from .evaluators import net_item, net_results, stack_items


@dataclass
class PipeTimes:
    """Seconds a search process spent on its evaluator's pipe; the rest of its time is its own."""

    send: float = 0.0  # pickling and writing its leaves
    wait: float = 0.0  # until the answer could be read: the batch forming, the network, the reply
    receive: float = 0.0  # reading and unpickling the answer

    def as_list(self) -> list[float]:
        return list(astuple(self))


@dataclass
class EvaluatorTimes:
    """Seconds of the batching evaluator process, by what it was doing."""

    idle: float = 0.0  # no request pending
    gather: float = 0.0  # from the first request of a batch to the last (reading them included)
    forward: float = 0.0  # the network, copies to and from the device included
    reply: float = 0.0  # writing each search process its rows

    def as_list(self) -> list[float]:
        return list(astuple(self))

GATHER_SECONDS = 0.005  # the longest a ready request waits for the others to join its batch
STATUS_SECONDS = 0.5


class RemoteEvaluator:
    """A search process's evaluator: leaves are encoded here, the network runs in the evaluator process."""

    name = "net"
    # Each search process waits for its whole batch. Selecting one half's leaves while the other
    # half waits on the pipe (as a lone process does with an accelerator) measured slower with a
    # search process per core on a 16-core GPU host: 27,443 evals/s against 38,819 (docs/benchmarks.md).
    overlaps = False

    def __init__(self, conn: connection.Connection, policy_size: int):
        self.conn = conn
        self.policy_size = policy_size
        self.times = PipeTimes()

    def prepare(self, state, moves):
        return net_item(state, moves)

    def run(self, items):
        planes, globals_ = stack_items(items)
        rows, columns = wanted_logits(items)
        began = time.perf_counter()
        self.conn.send((planes, globals_, rows * self.policy_size + columns))
        sent = time.perf_counter()
        self.conn.poll(None)  # (also wakes on end of file: recv then raises EOFError)
        ready = time.perf_counter()
        chosen, values = self.conn.recv()  # EOFError when the evaluator process is gone
        self.times.send += sent - began
        self.times.wait += ready - sent
        self.times.receive += time.perf_counter() - ready
        # Zeros elsewhere are never read: priors come from the moves' own indices alone.
        logits = np.zeros((len(items), self.policy_size), dtype=np.float32)
        logits[rows, columns] = chosen
        return net_results(logits, values, items)

    def close(self) -> None:
        self.conn.close()


def wanted_logits(items) -> tuple[np.ndarray, np.ndarray]:
    """(row, policy index) of every logit the items' priors read, row by row."""
    wanted = [item.distinct if item.distinct is not None else sorted(set(chain.from_iterable(item.move_indices)))
              for item in items]
    columns = np.fromiter(chain.from_iterable(wanted), dtype=np.int64)
    rows = np.repeat(np.arange(len(items), dtype=np.int64), [len(indices) for indices in wanted])
    return rows, columns


def start_batch_evaluator(mp, evaluator, procs: int):
    """Start the evaluator process; return (its Child, one RemoteEvaluator per search process)."""
    import os

    from .search_procs import Child

    pairs = [mp.Pipe() for _ in range(procs)]
    status_receive, status_send = mp.Pipe(duplex=False)
    process = mp.Process(target=evaluator_process, name="ringrift-evaluator", daemon=True,
                         args=([ours for ours, _ in pairs], status_send, os.getpid(), evaluator))
    process.start()
    status_send.close()
    for ours, _ in pairs:
        ours.close()
    size = evaluator.encoding.policy_size
    return (Child("evaluator process", process, status_receive),
            [RemoteEvaluator(theirs, size) for _, theirs in pairs])


def gather_requests(open_conns: list) -> tuple[dict, float]:
    """At least one request, then those of the other search processes that arrive within GATHER_SECONDS,
    and the moment the first one was there. Closed pipes (a search process ended or died) leave
    ``open_conns``."""
    requests: dict = {}
    ready = connection.wait(open_conns)
    first = time.perf_counter()
    deadline = time.monotonic() + GATHER_SECONDS
    while True:
        for conn in ready:
            try:
                requests[conn] = conn.recv()
            except (EOFError, OSError):
                open_conns.remove(conn)
        waiting = [conn for conn in open_conns if conn not in requests]
        left = deadline - time.monotonic()
        if not waiting or left <= 0 or not open_conns:
            return requests, first
        ready = connection.wait(waiting, timeout=left)
        if not ready:
            return requests, first


@dataclass
class JoinedBatch:
    """The requests of one network call, one after another."""

    planes: np.ndarray
    globals: np.ndarray
    take: np.ndarray  # flat offsets of the logits the search processes want, request by request
    rows: list[slice]  # each request's rows of the batch
    logits: list[slice]  # each request's part of the taken logits


def join_requests(requests: list[tuple], policy_size: int) -> JoinedBatch:
    """One batch of (planes, globals, logit offsets within the request) requests; each request's
    offsets are shifted to where its rows start."""
    rows, logits, takes = [], [], []
    row = taken = 0
    for planes, _, offsets in requests:
        rows.append(slice(row, row + len(planes)))
        logits.append(slice(taken, taken + len(offsets)))
        takes.append(offsets + row * policy_size)
        row, taken = row + len(planes), taken + len(offsets)
    return JoinedBatch(np.concatenate([request[0] for request in requests]),
                       np.concatenate([request[1] for request in requests]), np.concatenate(takes), rows, logits)


def evaluator_process(conns: list, status, parent_pid: int, evaluator) -> None:
    from .search_procs import die_with_parent, one_torch_thread

    die_with_parent(parent_pid)
    if str(getattr(evaluator, "device", "cpu")) == "cpu":
        one_torch_thread()  # (forced onto a CPU: the search processes have the other cores)
    open_conns = list(conns)
    batches = rows = capacity = 0
    times = EvaluatorTimes()
    reported = time.monotonic()
    while open_conns:
        searching = len(open_conns)
        began = time.perf_counter()
        requests, first = gather_requests(open_conns)
        gathered = time.perf_counter()
        times.idle += first - began
        times.gather += gathered - first
        if not requests:
            continue
        batch = join_requests(list(requests.values()), evaluator.encoding.policy_size)
        chosen, values = evaluator.forward(batch.planes, batch.globals, take=batch.take)
        computed = time.perf_counter()
        for conn, own_rows, own_logits in zip(requests, batch.rows, batch.logits):
            try:
                conn.send((chosen[own_logits], values[own_rows]))
            except (BrokenPipeError, OSError):
                open_conns.remove(conn)  # that search process died while we computed
        times.forward += computed - gathered
        times.reply += time.perf_counter() - computed
        # Fill: the rows this call held against what it would with every search process's request
        # as large as the largest one.
        counts = [part.stop - part.start for part in batch.rows]
        batches, rows, capacity = batches + 1, rows + sum(counts), capacity + searching * max(counts)
        if time.monotonic() - reported >= STATUS_SECONDS:
            status.send(("batches", [batches, rows, capacity, *times.as_list()]))
            reported = time.monotonic()
    status.send(("batches", [batches, rows, capacity, *times.as_list()]))
