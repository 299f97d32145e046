"""Selfplay and evaluation over several search processes: one job, N processes, one writer.

Each search process plays games by index, drawing the next index from a
shared counter, and sends every finished game to this (the job's) process,
which alone writes the shard: a game reaches the shard only whole, and only
once. A game's seed depends on the job's seed and its index alone, and its
search does not depend on which games share its batches, so the games
recorded are the same whatever the number of processes.

A search process that dies fails the job (the games it finished are kept;
resume plays the rest). Leaving this process, whatever the reason, stops
every child; a child also dies with this process (parent-death signal on
Linux) and stops when it finds itself orphaned elsewhere.

On an accelerator the search processes share the network through one
batching evaluator process (``batch_evaluator``), started and stopped with
the job; on a CPU each process has its own copy and one torch thread.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing import connection
from typing import Callable

from ..errors import UserError
from ..store.game_records import GameRecord
from .game_loop import GameResult, PlayTally, Side, play_games
from .selfplay import SelfplaySettings

TALLY_SECONDS = 0.5  # how often a search process reports its moves and evaluations
STOP_SECONDS = 3.0  # how long a child gets to exit after SIGTERM before SIGKILL


class SearchProcessFailed(RuntimeError):
    """A search (or the evaluator) process died or raised; the job fails and is retried."""


@dataclass
class ProcsTally(PlayTally):
    """The job's totals over all processes, plus the batching evaluator's fill when there is one."""

    batches: int = 0
    batch_rows: int = 0
    batch_capacity: int = 0  # rows the batches could have held (one request per search process)
    # Seconds, summed over the search processes: on their evaluators' pipes (send, wait, receive),
    # and of CPU time.
    pipe_seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    search_cpu_seconds: float = 0.0
    # Seconds of the batching evaluator (idle, gather, forward, reply); see batch_evaluator.
    evaluator_seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])

    @property
    def batch_fill(self) -> float | None:
        return self.batch_rows / self.batch_capacity if self.batch_capacity else None


@dataclass
class Child:
    name: str
    process: object
    conn: connection.Connection
    finished: bool = False
    # moves, evaluations, pipe seconds (send, wait, receive), CPU seconds
    counts: list = field(default_factory=lambda: [0, 0, 0.0, 0.0, 0.0, 0.0])


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def play_selfplay_procs(
    config_key: str, evaluator, model_name: str, settings: SelfplaySettings, *, indices: list[int],
    parallel: int, base_seed: int, procs: int, on_game: Callable[[GameRecord], None],
    on_move: Callable[[ProcsTally], None] = lambda tally: None, batch_evaluator: bool | None = None,
) -> ProcsTally:
    """Selfplay (one searched side at every seat) over ``procs`` search processes."""
    return play_games_procs(config_key, [Side(model_name, "search", evaluator, settings)], indices=indices,
                            parallel=parallel, base_seed=base_seed, procs=procs,
                            on_game=lambda result: on_game(result.record), on_move=on_move,
                            batch_evaluator=batch_evaluator)


def play_games_procs(
    config_key: str, sides: list[Side], *, indices: list[int], parallel: int, base_seed: int, procs: int,
    on_game: Callable[[GameResult], None], on_move: Callable[[ProcsTally], None] = lambda tally: None,
    record: bool = True, batch_evaluator: bool | None = None,
) -> ProcsTally:
    """``play_games`` of ``indices`` over ``procs`` search processes, each playing ``parallel`` games at
    once (fewer when the job has fewer games per process, so that all the processes get some).
    ``batch_evaluator`` (default: when a side's network overlaps, i.e. is on an accelerator) puts each
    such network in one batching evaluator process instead of a copy in each search process."""
    procs = max(1, min(procs, len(indices)))
    batched = [k for k, side in enumerate(sides) if side.evaluator is not None and hasattr(side.evaluator, "forward")
               and (batch_evaluator or (batch_evaluator is None and getattr(side.evaluator, "overlaps", False)))]
    if procs == 1 and not batched:
        tally = ProcsTally()

        def count(inner: PlayTally) -> None:
            tally.games, tally.moves, tally.evaluations = inner.games, inner.moves, inner.evaluations
            on_move(tally)

        for result in play_games(config_key, sides, indices, parallel=parallel, base_seed=base_seed, record=record,
                                 on_move=count):
            on_game(result)
        return tally
    import multiprocessing

    mp = multiprocessing.get_context("spawn")  # no inherited threads, locks or torch thread pools
    counter = mp.Value("q", 0)
    children: list[Child] = []
    evaluator_children: list[Child] = []
    try:
        sides_of = [list(sides) for _ in range(procs)]  # what each search process plays with
        if batched:
            from .batch_evaluator import start_batch_evaluator

            for k in batched:
                evaluator_child, remotes = start_batch_evaluator(mp, sides[k].evaluator, procs)
                evaluator_children.append(evaluator_child)
                for own, remote in zip(sides_of, remotes):
                    own[k] = replace(sides[k], evaluator=remote)
        for k in range(procs):
            receive, send = mp.Pipe(duplex=False)
            process = mp.Process(target=search_process, name=f"ringrift-search-{k}", daemon=True,
                                 args=(send, os.getpid(), config_key, sides_of[k], record,
                                       min(parallel, -(-len(indices) // procs)), base_seed, indices, counter))
            process.start()
            send.close()  # only the child writes: its death then reads as end of file here
            children.append(Child(f"search process {k}", process, receive))
        for own in sides_of:
            for k in batched:
                own[k].evaluator.close()  # the search processes hold their own ends now
        return gather(children, evaluator_children, on_game, on_move)
    finally:
        stop(children + evaluator_children)


def gather(children: list[Child], evaluator_children: list[Child], on_game, on_move) -> ProcsTally:
    """Record games as the search processes send them, until all are done; fail when one dies."""
    tally = ProcsTally()
    watched = children + evaluator_children
    while not all(child.finished for child in children):
        live = [child for child in watched if not child.finished]
        ready = connection.wait([child.conn for child in live], timeout=1.0)
        for child in live:
            searching = not all(search.finished for search in children)
            if child.conn in ready and (child not in evaluator_children or searching):
                receive(child, tally, on_game)  # (an evaluator may end just before the last "done" is read)
        tally.moves = sum(child.counts[0] for child in children)
        tally.evaluations = sum(child.counts[1] for child in children)
        tally.pipe_seconds = [sum(child.counts[k] for child in children) for k in (2, 3, 4)]
        tally.search_cpu_seconds = sum(child.counts[5] for child in children)
        on_move(tally)
    for child in evaluator_children:
        read_last_report(child, tally)
    return tally


def read_last_report(evaluator_child: Child, tally: ProcsTally) -> None:
    """Take in what a batching evaluator sends once its last search process has gone: the final count
    of its batches. A job shorter than one status interval has no other."""
    conn = evaluator_child.conn
    try:
        while conn.poll(STOP_SECONDS):
            kind, payload = conn.recv()
            if kind == "batches":
                record_batches(tally, payload)
    except (EOFError, OSError):
        pass  # it has exited: everything it sent has been read


def receive(child: Child, tally: ProcsTally, on_game) -> None:
    """Handle one message of a child; its end of file (death) fails the job."""
    try:
        kind, payload = child.conn.recv()
    except (EOFError, OSError):
        child.process.join(timeout=STOP_SECONDS)
        raise SearchProcessFailed(f"{child.name} (pid {child.process.pid}) died "
                                  f"(exit {child.process.exitcode}); finished games are kept") from None
    if kind == "game":
        on_game(payload)
        tally.games += 1
    elif kind == "counts":
        child.counts = payload
    elif kind == "batches":
        record_batches(tally, payload)
    elif kind == "done":
        child.counts, child.finished = payload, True
    elif kind == "error":
        raise SearchProcessFailed(f"{child.name} failed: {payload}")


def record_batches(tally: ProcsTally, payload: list) -> None:
    """A batching evaluator's running totals: batches, rows, capacity, then its four timings."""
    tally.batches, tally.batch_rows, tally.batch_capacity = payload[:3]
    tally.evaluator_seconds = payload[3:]


def stop(children: list[Child]) -> None:
    """Stop every child still running: SIGTERM, then SIGKILL after a grace period; reap them all."""
    for child in children:
        if child.process.is_alive():
            child.process.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        child.process.join(timeout=max(0.0, deadline - time.monotonic()))
        if child.process.is_alive():
            child.process.kill()
            child.process.join()
        child.conn.close()


def die_with_parent(parent_pid: int) -> None:
    """Make this child die when the job's process does (Linux) and exit quietly on SIGTERM. Ctrl-C
    (SIGINT to the whole terminal group) is the job's process's to handle: it stops the children and
    hands the job back, which it could not do if a child's death reached it first as a failure."""
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


def one_torch_thread() -> None:
    """Each process searches on one core; torch's own threads would fight the other processes."""
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)


def search_process(conn, parent_pid: int, config_key: str, sides: list[Side], record: bool, parallel: int,
                   base_seed: int, indices: list[int], counter) -> None:
    """A child's whole life: play games drawn from the shared counter, send each one when it ends."""
    die_with_parent(parent_pid)
    one_torch_thread()

    def draw():
        while True:
            with counter.get_lock():
                position = counter.value
                counter.value = position + 1
            if position >= len(indices):
                return
            yield indices[position]

    last = [0.0]
    tally = PlayTally()
    pipes = [side.evaluator.times for side in sides if hasattr(side.evaluator, "times")]

    def counts() -> list:
        pipe = [sum(column) for column in zip(*(times.as_list() for times in pipes))] or [0.0] * 3
        return [tally.moves, tally.evaluations, *pipe, time.process_time()]

    def report(inner: PlayTally) -> None:
        tally.moves, tally.evaluations = inner.moves, inner.evaluations
        if time.monotonic() - last[0] >= TALLY_SECONDS:
            if os.getppid() != parent_pid:
                os._exit(1)  # orphaned (no parent-death signal here): nobody will record our games
            conn.send(("counts", counts()))
            last[0] = time.monotonic()

    try:
        for result in play_games(config_key, sides, draw(), parallel=parallel, base_seed=base_seed, record=record,
                                 on_move=report):
            conn.send(("game", result))
        conn.send(("done", counts()))
    except (BrokenPipeError, EOFError):
        os._exit(1)  # the job's process or an evaluator is gone
    except UserError as exc:
        conn.send(("error", str(exc)))
    except Exception:
        conn.send(("error", traceback.format_exc(limit=-3).strip()))
