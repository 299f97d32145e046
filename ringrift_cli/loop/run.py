"""`ringrift loop run`: ticks and local worker processes, alternating until an end condition holds.

Nothing here decides what work is due (the tick does) or runs stage work itself (the
workers do, as separate processes): this only keeps `workers` of them busy and ticks
again whenever one finishes, or every ``TICK_EVERY`` seconds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

from ..context import open_context
from ..home import Home
from ..store.loop_state import events_after, newest_event_id
from ..status import best_models
from ..store.status import queue_depth
from .knobs import loop_settings
from .tick import run_tick

TICK_EVERY = 30.0   # seconds between ticks while every worker is busy
POLL = 0.5
STOP_GRACE = 30.0   # seconds a worker gets to hand its job back after Ctrl-C
SETTLE = 3.0        # seconds workers get to stop on their own Ctrl-C before they are sent SIGTERM


@dataclass(frozen=True)
class EndCondition:
    iterations: int | None = None
    until_promoted: bool = False
    seconds: float | None = None

    def met(self, ticks: int, promoted: bool, elapsed: float) -> bool:
        return ((self.iterations is not None and ticks >= self.iterations)
                or (self.until_promoted and promoted)
                or (self.seconds is not None and elapsed >= self.seconds))


def start_worker(home: Home, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "ringrift_cli", "worker", "--home", str(home.state_file), "--max-jobs", "1"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM makes a worker hand its job back at once; one that does not stop in time is killed.

    Ctrl-C at a terminal already reached the workers (one process group): they get a moment to
    finish handing their jobs back before the SIGTERM."""
    settle = time.monotonic() + SETTLE
    while any(proc.poll() is None for proc in workers) and time.monotonic() < settle:
        time.sleep(POLL / 5)
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    for proc in workers:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_loop(home: Home, end: EndCondition, workers: int, *, live: bool,
             say: Callable[[str], None]) -> dict:
    """Run until ``end`` holds; return a summary. KeyboardInterrupt stops the workers first."""
    started = time.monotonic()
    with open_context(home.state_file) as ctx:
        baseline = newest_event_id(ctx.store)
    running: list[subprocess.Popen] = []
    ticks, jobs_run, promoted = 0, 0, False
    log_path = home.data_dir("runs") / "loop-workers.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    view = LiveView(live, say)
    with open(log_path, "ab") as log:
        try:
            while True:
                with open_context(home.state_file) as ctx:
                    report = run_tick(ctx, time.time())
                    ticks += 1
                    promoted = promoted or bool(events_after(ctx.store, baseline, ("model_promoted",), 1)[0])
                    view.update(ctx, report, ticks, len(running))
                if end.met(ticks, promoted, time.monotonic() - started):
                    break
                while len(running) < workers:
                    running.append(start_worker(home, log))
                last_tick = time.monotonic()
                while all(proc.poll() is None for proc in running) and time.monotonic() - last_tick < TICK_EVERY:
                    time.sleep(POLL)
                finished = [proc for proc in running if proc.poll() is not None]
                jobs_run += len(finished)
                running = [proc for proc in running if proc.poll() is None]
        except KeyboardInterrupt:
            say("stopping: handing running jobs back to the queue")
            stop_workers(running)
            view.close()
            raise
        stop_workers(running)
    view.close()
    return {"ticks": ticks, "worker_runs": jobs_run, "promoted": promoted,
            "seconds": round(time.monotonic() - started, 1), "worker_log": str(log_path)}


class LiveView:
    """Each stage's jobs and the latest Elo: a rich live table on a terminal, else one line per tick."""

    def __init__(self, live: bool, say: Callable[[str], None]):
        self.say = say
        self.live = None
        if live:
            from rich.live import Live

            self.live = Live(auto_refresh=False)
            self.live.start()

    def update(self, ctx, report, ticks: int, busy: int) -> None:
        depth = {}
        for row in queue_depth(ctx.store):
            depth.setdefault(row.kind, {})[row.status] = row.count
        configs = loop_settings(ctx.setting).configs
        best = {row.config_key: row for row in best_models(ctx, configs)}
        best = {key: best.get(key) for key in configs}
        enqueued = [a for a in report.actions if a["action"] == "enqueue"]
        if self.live is None:
            counts = ", ".join(f"{kind} {d.get('queued', 0)}q/{d.get('claimed', 0)}r/{d.get('done', 0)}d"
                               for kind, d in sorted(depth.items()))
            elo = ", ".join(f"{key} {m.model_id[:10]} Elo {m.elo:.0f}" if m and m.elo is not None
                            else f"{key} {m.model_id[:10] if m else 'no model'}" for key, m in best.items())
            self.say(f"tick {ticks}: +{len(enqueued)} job(s), {busy} worker(s) busy; {counts or 'no jobs'}; {elo}")
            return
        from rich.console import Group
        from rich.table import Table

        jobs = Table(title=f"ringrift loop run: tick {ticks}, {busy} worker(s) busy, backpressure {report.pressure}",
                     title_justify="left")
        for column in ("stage", "queued", "running", "done", "dead"):
            jobs.add_column(column)
        for kind, d in sorted(depth.items()):
            jobs.add_row(kind, *(str(d.get(s, 0)) for s in ("queued", "claimed", "done", "dead")))
        models = Table(title="best models", title_justify="left")
        for column in ("config", "model", "Elo"):
            models.add_column(column)
        for key, model in best.items():
            models.add_row(key, model.model_id[:12] if model else "-",
                           f"{model.elo:.0f}" if model and model.elo is not None else "-")
        waits = Table(title="waiting", title_justify="left")
        for column in ("config", "stage", "why"):
            waits.add_column(column)
        for wait in report.waits:
            waits.add_row(wait.config_key or "*", wait.stage, wait.reason)
        self.live.update(Group(jobs, models, waits), refresh=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
