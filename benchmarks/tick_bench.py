"""One `ringrift loop tick` on a big state file, next to a bare SELECT of the rows it reads.

    python benchmarks/tick_bench.py [--jobs 100000] [--events 1000000] [--configs hex8_2p,square8_2p]

Builds a state file with the given numbers of jobs (mostly done, some queued and
claimed) and events, then times: the first tick (cursor at 0: it scans every job
outcome), a steady tick (cursor caught up), the CLI process for a steady tick, and a
bare SELECT of the same tables. Target: a tick under 1 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift_cli.context import open_context  # noqa: E402
from ringrift_cli.loop.tick import run_tick  # noqa: E402
from ringrift_cli.store import create_store  # noqa: E402
from ringrift_cli.store.settings import store_setting  # noqa: E402


def build(path: Path, jobs: int, events: int, configs: list[str]) -> None:
    """Rows written straight into the tables (the queue API would take minutes for a million events)."""
    store, _ = create_store(path)
    now = time.time()
    kinds = ("selfplay", "export", "train", "eval", "promote")
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO jobs (kind, config_key, params, status, priority, max_attempts, trace_id, created_at,"
            " updated_at, attempts, claim_seq) VALUES (?, ?, '{}', ?, 0, 3, ?, ?, ?, 1, 1)",
            ((kinds[i % 5], configs[i % len(configs)], "done" if i < jobs - 200 else "queued", f"t{i}",
              now - jobs + i, now - jobs + i) for i in range(jobs)))
        types = ("job_enqueued", "job_claimed", "job_completed", "artifact_registered")
        conn.executemany(
            "INSERT INTO events (type, config_key, payload, job_id, created_at) VALUES (?, ?, ?, ?, ?)",
            ((types[i % 4], configs[i % len(configs)],
              json.dumps({"kind": kinds[i % 5], "worker": "w", "attempt": 1, "result": None}
                         if i % 4 == 2 else {"kind": kinds[i % 5]}), i % jobs + 1, now - events + i)
             for i in range(events)))
    store_setting(store, "loop.configs", ",".join(configs))
    store.close()


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--configs", default="hex8_2p,square8_2p")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        build(root / "queue.db", args.jobs, args.events, args.configs.split(","))
        print(f"state file: {args.jobs:,} jobs, {args.events:,} events "
              f"({(root / 'queue.db').stat().st_size / 1e6:.0f} MB, built in {time.perf_counter() - started:.0f}s)")
        with open_context(root) as ctx:
            first = timed(lambda: run_tick(ctx, time.time()))
            steady = [timed(lambda: run_tick(ctx, time.time())) for _ in range(5)]
            bare = [timed(lambda: (ctx.store.read("SELECT kind, config_key, status FROM jobs"),
                                   ctx.store.read("SELECT id, type FROM events WHERE id > ?",
                                                  (args.events - 1000,)))) for _ in range(5)]
            scan = timed(lambda: ctx.store.read("SELECT count(*) FROM events WHERE type = 'job_completed'"))
        cli = []
        for _ in range(3):
            cli.append(timed(lambda: subprocess.run([sys.executable, "-m", "ringrift_cli", "loop", "tick", "--home",
                                                     str(root)], check=True, capture_output=True)))
    best = min(steady)
    print(f"first tick (cursor at 0, all {args.events:,} events behind it): {first * 1000:8.1f} ms")
    print(f"steady tick (median of 5):                     {sorted(steady)[2] * 1000:8.1f} ms (best {best * 1000:.1f})")
    print(f"bare SELECT of all jobs + the newest events:   {sorted(bare)[2] * 1000:8.1f} ms")
    print(f"bare count of one event type over all events:  {scan * 1000:8.1f} ms")
    print(f"`ringrift loop tick` process (best of 3):      {min(cli) * 1000:8.1f} ms")
    print(f"target < 1000 ms: {'met' if max(first, sorted(steady)[2], min(cli)) < 1.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
