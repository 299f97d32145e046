"""One network for many search processes: the batching evaluator process of a job.

Each search process encodes its leaves itself and sends the batch's planes
to this process, which waits briefly until every search process has sent
its request (or ``GATHER_SECONDS`` pass), runs them as one network call and
returns each its rows. It lives exactly as long as the job: it ends when the
last search process closes its pipe, and dies with the job's process.
"""

from __future__ import annotations

import time
from multiprocessing import connection

import numpy as np

from .evaluators import net_item, net_results, stack_items

GATHER_SECONDS = 0.005  # the longest a ready request waits for the others to join its batch
STATUS_SECONDS = 0.5


class RemoteEvaluator:
    """A search process's evaluator: leaves are encoded here, the network runs in the evaluator process."""

    name = "net"
    overlaps = False

    def __init__(self, conn: connection.Connection):
        self.conn = conn

    def prepare(self, state, moves):
        return net_item(state, moves)

    def run(self, items):
        self.conn.send(stack_items(items))
        logits, values = self.conn.recv()  # EOFError when the evaluator process is gone
        return net_results(logits, values, items)

    def close(self) -> None:
        self.conn.close()


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
    return Child("evaluator process", process, status_receive), [RemoteEvaluator(theirs) for _, theirs in pairs]


def gather_requests(open_conns: list) -> dict:
    """At least one request, then those of the other search processes that arrive within GATHER_SECONDS.
    Closed pipes (a search process ended or died) leave ``open_conns``."""
    requests: dict = {}
    ready = connection.wait(open_conns)
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
            return requests
        ready = connection.wait(waiting, timeout=left)
        if not ready:
            return requests


def evaluator_process(conns: list, status, parent_pid: int, evaluator) -> None:
    from .search_procs import die_with_parent, one_torch_thread

    die_with_parent(parent_pid)
    if str(getattr(evaluator, "device", "cpu")) == "cpu":
        one_torch_thread()  # (forced onto a CPU: the search processes have the other cores)
    open_conns = list(conns)
    batches = rows = capacity = 0
    reported = time.monotonic()
    while open_conns:
        searching = len(open_conns)
        requests = gather_requests(open_conns)
        if not requests:
            continue
        counts = [len(planes) for planes, _ in requests.values()]
        planes = np.concatenate([planes for planes, _ in requests.values()])
        globals_ = np.concatenate([globals_ for _, globals_ in requests.values()])
        logits, values = evaluator.forward(planes, globals_)
        start = 0
        for conn, count in zip(requests, counts):
            try:
                conn.send((logits[start:start + count], values[start:start + count]))
            except (BrokenPipeError, OSError):
                open_conns.remove(conn)  # that search process died while we computed
            start += count
        # Fill: the rows this call held against what it would with every search process's request
        # as large as the largest one.
        batches, rows, capacity = batches + 1, rows + start, capacity + searching * max(counts)
        if time.monotonic() - reported >= STATUS_SECONDS:
            status.send(("batches", [batches, rows, capacity]))
            reported = time.monotonic()
    status.send(("batches", [batches, rows, capacity]))
