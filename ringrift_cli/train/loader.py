"""Training batches built ahead of the step, in worker processes when asked.

On an accelerator a step is short, and building its batch in series with it
made the data path most of an epoch (docs/benchmarks.md, "Training
throughput"). Most of that path is decompressing shards, so the work is
split by shard: an epoch's plan (``dataset.plan_batches``) is a run of
batches per shard, and with ``workers`` processes, run r goes to worker
r mod ``workers``. While the training process takes the batches of one run
from its worker, the other workers are loading the shards of the next runs.

A worker sends each batch, one buffer (``dataset.Batch``), through its own
socket; the training process reads it with one call straight into the
tensor it trains from (page-locked for an accelerator). A worker can be at
most the socket's buffer ahead of the reader, so memory stays bounded by
one shard per worker plus a batch or two in flight. The batches, and their
order, are those of the plan whatever the number of workers.

The workers live as long as the loader (one training run): a new process
spends about 2 s importing torch, once per run, not once per epoch. They
end when the loader closes, and when the training process dies, since their
socket's other end is then closed.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
import socket
import struct
from dataclasses import dataclass
from collections import deque
from itertools import groupby
from typing import Iterable, Iterator

import numpy as np
import torch

from ..ai.samples import ShardError
from .dataset import Batch, BatchPlan, ShardSource, batch_in_buffer, load_shard, make_batch

HEADER = struct.Struct("!Q")  # the length of the pickled message that follows
SOCKET_BUFFER = 8 << 20
STOP_SECONDS = 5.0  # how long a closing loader waits for a worker to end before killing it


@dataclass(frozen=True)
class BatchSource:
    """What a worker needs to build any planned batch."""

    sources: tuple[ShardSource, ...]
    symmetries: tuple
    encoder_version: int
    policy_size: int

    def load(self, shard: int) -> dict[str, np.ndarray]:
        return load_shard(self.sources[shard], self.encoder_version, self.policy_size)


class BatchLoader:
    """The batches of a sequence of passes (each a plan) over the same shards, pass by pass, built
    here or by ``workers`` processes. With workers, the runs of the next pass are sent out while
    this one is served, so a pass does not start by waiting for its first shard."""

    def __init__(self, sources: list[ShardSource], passes: Iterable[list[BatchPlan]], *, encoder_version: int,
                 policy_size: int, symmetries: tuple = (), workers: int = 0, pin_memory: bool = False):
        self.source = BatchSource(tuple(sources), symmetries, encoder_version, policy_size)
        self.workers, self.pin_memory = workers, pin_memory
        self.passes = iter(passes)
        self.pulled = 0  # passes taken from ``passes``
        self.served = 0  # passes given out by ``next_pass``
        self.unsent: deque[tuple[int, list[BatchPlan]]] = deque()  # (pass, run) not yet sent to a worker
        self.sent: deque[tuple[int, int, int]] = deque()  # (pass, worker, batches) sent, not yet all read
        self.runs_sent = 0
        self.builders: list[Builder] = []
        self.closed = False
        self.loaded: tuple[int, dict] | None = None  # the shard held here when there are no workers

    def next_pass(self) -> Iterator[Batch]:
        """The batches of the next pass, in its plan's order."""
        if self.closed:
            raise RuntimeError("the batch loader is closed")
        number, self.served = self.served, self.served + 1
        if not self.workers:
            yield from self.build_here(next(self.passes, []))
            return
        if self.sent and self.sent[0][0] < number:
            raise RuntimeError("the previous pass of the batch loader was not read to its end")
        if not self.builders:
            self.builders = [Builder.start(self.source) for _ in range(self.workers)]
        finished = False
        try:
            while True:
                self.send_ahead()
                if not self.sent or self.sent[0][0] != number:
                    break
                _, worker, batches = self.sent[0]
                for _ in range(batches):
                    yield self.builders[worker].receive(self.pin_memory)
                self.sent.popleft()
            finished = True
        finally:
            if not finished:  # the rest of this pass is on its way: nothing after it can be served
                self.close()

    def send_ahead(self) -> None:
        """Keep one run per worker out (the one being read, and the next ones), across passes."""
        while len(self.sent) < self.workers:
            if not self.unsent:
                if self.pull_pass():
                    continue  # an empty pass adds no run
                return
            number, run = self.unsent.popleft()
            worker = self.runs_sent % self.workers  # each worker takes its runs in order, as they are read
            self.builders[worker].assign(run)
            self.sent.append((number, worker, len(run)))
            self.runs_sent += 1

    def pull_pass(self) -> bool:
        plans = next(self.passes, None)
        if plans is None:
            return False
        number, self.pulled = self.pulled, self.pulled + 1
        self.unsent.extend((number, list(run)) for _, run in groupby(plans, key=lambda plan: plan.shard))
        return True

    def build_here(self, plans: list[BatchPlan]) -> Iterator[Batch]:
        for plan in plans:
            if self.loaded is None or self.loaded[0] != plan.shard:
                self.loaded = None  # the old shard goes before the next one comes
                self.loaded = (plan.shard, self.source.load(plan.shard))
            batch = make_batch(self.loaded[1], plan.rows, self.source.symmetries, plan.symmetry)
            yield batch.pin_memory() if self.pin_memory else batch

    def close(self) -> None:
        self.closed = True
        builders, self.builders = self.builders, []
        for builder in builders:
            builder.stop()

    def __enter__(self) -> "BatchLoader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Builder:
    """The training process's end of one worker: runs of plans go out, their batches come back."""

    def __init__(self, process, sock: socket.socket):
        self.process, self.sock = process, sock

    @classmethod
    def start(cls, source: BatchSource) -> "Builder":
        ours, theirs = socket.socketpair()
        # Room for a whole batch or two in the socket, so that reading one takes one copy and no
        # waiting on the writer (the system may grant less).
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
        # Started afresh, not forked: the training process has threads (a job's heartbeat) that
        # could hold a lock at the moment of a fork.
        process = multiprocessing.get_context("spawn").Process(
            target=build_batches, args=(theirs, source), name="ringrift-batches", daemon=True)
        process.start()
        theirs.close()
        return cls(process, ours)

    def assign(self, run: list[BatchPlan]) -> None:
        send_message(self.sock, (run[0].shard, run))

    def receive(self, pin_memory: bool) -> Batch:
        kind, *details = read_message(self.sock, self.died)
        if kind == "shard_error":
            raise ShardError(details[0])
        if kind == "error":
            raise RuntimeError(f"a batch worker failed: {details[0]}")
        layout, size = details
        buffer = torch.empty(size, dtype=torch.uint8, pin_memory=pin_memory)
        read_into(self.sock, memoryview(buffer.numpy()), self.died)
        return batch_in_buffer(buffer, layout)

    def died(self) -> RuntimeError:
        self.process.join(0.5)
        return RuntimeError(f"a batch worker (pid {self.process.pid}) ended without its batches "
                            f"(exit {self.process.exitcode})")

    def stop(self) -> None:
        self.sock.close()  # the worker reads the end of its socket and returns
        self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def build_batches(sock: socket.socket, source: BatchSource) -> None:
    """A worker: for each run it is sent, load the run's shard and send back its batches in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the training process's to handle
    torch.set_num_threads(1)
    shard, arrays = None, {}
    try:
        while True:
            try:
                index, plans = read_message(sock, EOFError)
            except EOFError:
                return  # the loader closed, or the training process is gone
            try:
                if index != shard:
                    shard, arrays = None, {}
                    arrays, shard = source.load(index), index
            except ShardError as exc:
                send_message(sock, ("shard_error", str(exc)))
                continue
            for plan in plans:
                batch = make_batch(arrays, plan.rows, source.symmetries, plan.symmetry)
                send_message(sock, ("batch", batch.layout, batch.buffer.numel()))
                sock.sendall(memoryview(batch.buffer.numpy()))
    except (BrokenPipeError, ConnectionResetError):
        return  # the reader went away mid-run
    except Exception as exc:  # noqa: BLE001 - reported to the training process, which raises it
        try:
            send_message(sock, ("error", f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass


def send_message(sock: socket.socket, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(HEADER.pack(len(data)) + data)


def read_message(sock: socket.socket, gone):
    header = bytearray(HEADER.size)
    read_into(sock, memoryview(header), gone)
    data = bytearray(HEADER.unpack(header)[0])
    read_into(sock, memoryview(data), gone)
    return pickle.loads(data)


def read_into(sock: socket.socket, view: memoryview, gone) -> None:
    """Fill ``view`` from the socket (one call for a whole batch, unless a signal cuts it short)."""
    done = 0
    while done < len(view):
        got = sock.recv_into(view[done:], len(view) - done, socket.MSG_WAITALL)
        if not got:
            raise gone()
        done += got


def default_workers(device: torch.device, cores: int) -> int:
    """``train.data_workers: auto``: none on a CPU, where the step dwarfs the data path (under 1%
    of it) and a worker would take a core from the step; on an accelerator half the host's cores, at
    least 2 (one serving batches while the other loads the next shard) and at most 4."""
    return 0 if device.type == "cpu" else max(2, min(4, cores // 2))
