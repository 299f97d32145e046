"""Work-queue throughput against the SQLite commit ceiling, status on 100k jobs, CLI start-up.

    python benchmarks/queue_bench.py [--jobs 4000] [--procs 1,4,8]

Each claimed+completed job costs two commits (the claim, the completion). The
ceiling is the same number of bare single-row UPDATE commits, made by the same
number of processes on the same kind of file (WAL, synchronous=NORMAL, same
busy timeout), so "ratio" = ceiling time / queue time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift_cli.context import open_context  # noqa: E402
from ringrift_cli.store import Store, create_store, open_store  # noqa: E402
from ringrift_cli.store import queue as q  # noqa: E402
from ringrift_cli.store.db import connect  # noqa: E402


def fill_queue(path: Path, jobs: int) -> None:
    store, _ = create_store(path)
    with store.write() as conn:
        for i in range(jobs):
            q.enqueue_in(conn, q.JobSpec("selfplay", "hex8_2p", params={"seed": i}), q.default_policy())
    store.close()


def queue_worker(path: str, name: str, start: mp.Event, done: mp.Queue) -> None:
    """The worker loop's own calls: claim, then complete-and-claim-next in one commit."""
    store = open_store(Path(path))
    policy = q.default_policy()
    start.wait()
    count = 0
    job = q.claim(store, name, ("selfplay",), policy, lease_seconds=600)
    while job is not None:
        job = q.complete_and_claim(store, job, name, {"ok": True}, ("selfplay",), policy, lease_seconds=600)
        count += 1
    store.close()
    done.put(count)


def queue_worker_separate(path: str, name: str, start: mp.Event, done: mp.Queue) -> None:
    """A shell-style worker: claim and complete as two separate commits."""
    store = open_store(Path(path))
    start.wait()
    count = 0
    while (job := q.claim(store, name, ("selfplay",), q.default_policy(), lease_seconds=600)) is not None:
        q.complete(store, job.id, name, job.attempts, {"ok": True})
        count += 1
    store.close()
    done.put(count)


def update_worker(path: str, commits: int, start: mp.Event, done: mp.Queue) -> None:
    """The ceiling: one single-row UPDATE per commit, taking the lock the way the queue does."""
    store = open_bare(Path(path))
    start.wait()
    for i in range(commits):
        with store.write() as conn:
            conn.execute("UPDATE counters SET value = value + 1 WHERE id = ?", (i % 64,))
    store.close()
    done.put(commits)


def open_bare(path: Path) -> Store:
    """A file with the state file's pragmas but none of its tables."""
    return Store(path=path, conn=connect(path, create=True))


def timed(target, args_for, procs: int) -> tuple[float, int]:
    start, done = mp.Event(), mp.Queue()
    workers = [mp.Process(target=target, args=(*args_for(n), start, done)) for n in range(procs)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)  # let every process open its connection before the clock starts
    began = time.perf_counter()
    start.set()
    total = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return elapsed, total


def bench_queue(tmp: Path, jobs: int, procs: int, worker=queue_worker) -> float:
    path = tmp / f"queue-{worker.__name__}-{procs}.db"
    fill_queue(path, jobs)
    elapsed, total = timed(worker, lambda n: (str(path), f"w{n}"), procs)
    assert total == jobs, (total, jobs)
    return elapsed


def bench_ceiling(tmp: Path, commits: int, procs: int) -> float:
    path = tmp / f"ceiling-{procs}.db"
    conn = open_bare(path).conn
    conn.execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
    conn.executemany("INSERT INTO counters VALUES (?, 0)", [(i,) for i in range(64)])
    conn.close()
    share = commits // procs
    elapsed, total = timed(update_worker, lambda n: (str(path), share), procs)
    return elapsed * commits / total


def bench_status(tmp: Path, jobs: int) -> tuple[float, float]:
    """Seconds for collect_status and for the `ringrift status` process on ``jobs`` jobs."""
    from ringrift_cli.status import collect_status

    path = tmp / "status" / "queue.db"
    path.parent.mkdir()
    fill_queue(path, jobs)
    store = open_store(path)
    # Fixture only: spread the jobs over statuses the way a busy file looks.
    with store.write() as conn:
        conn.execute("UPDATE jobs SET status = 'done', attempts = 1 WHERE id % 10 < 8")
        conn.execute("UPDATE jobs SET status = 'dead', attempts = 3, error = 'x' WHERE id % 100 = 99")
        conn.execute("UPDATE jobs SET status = 'claimed', claimed_by = 'w', lease_until = 1e10 WHERE id % 1000 = 1")
        conn.execute("UPDATE jobs SET kind = 'train' WHERE id % 7 = 0")
    store.close()
    with open_context(path) as ctx:
        began = time.perf_counter()
        collect_status(ctx)
        in_process = time.perf_counter() - began
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ringrift_cli", "status", "--home", str(path)],
                   stdout=subprocess.DEVNULL, check=True)
    return in_process, time.perf_counter() - began


def median_run(args: list[str], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def bench_startup(tmp: Path) -> dict[str, float]:
    home = tmp / "startup"
    subprocess.run([sys.executable, "-m", "ringrift_cli", "init", "--home", str(home)],
                   stdout=subprocess.DEVNULL, check=True)
    env_home = ["--home", str(home)]
    return {
        "python -c pass": median_run([sys.executable, "-c", "pass"]),
        "ringrift --help": median_run([sys.executable, "-m", "ringrift_cli", "--help"]),
        "ringrift queue ls": median_run([sys.executable, "-m", "ringrift_cli", "queue", "ls", *env_home]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--procs", default="1,4,8")
    parser.add_argument("--status-jobs", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, sqlite {__import__('sqlite3').sqlite_version}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print(f"\nqueue: {args.jobs} jobs claimed+completed; ceiling: {2 * args.jobs} bare UPDATE commits")
        print(f"{'procs':>5} {'worker jobs/s':>14} {'ratio':>6} {'2-commit jobs/s':>16} {'ratio':>6} "
              f"{'ceiling jobs/s':>15} {'bare commits/s':>15}")
        for procs in [int(p) for p in args.procs.split(",")]:
            worker_s = bench_queue(tmp, args.jobs, procs)
            separate_s = bench_queue(tmp, args.jobs, procs, queue_worker_separate)
            ceiling_s = bench_ceiling(tmp, 2 * args.jobs, procs)
            print(f"{procs:>5} {args.jobs / worker_s:>14.0f} {ceiling_s / worker_s:>6.2f} "
                  f"{args.jobs / separate_s:>16.0f} {ceiling_s / separate_s:>6.2f} "
                  f"{args.jobs / ceiling_s:>15.0f} {2 * args.jobs / ceiling_s:>15.0f}")
        print("target: worker ratio >= 0.5 at 8 processes")
        in_process, cli = bench_status(tmp, args.status_jobs)
        print(f"\nstatus on {args.status_jobs} jobs: collect {in_process * 1000:.0f} ms, "
              f"`ringrift status` process {cli * 1000:.0f} ms (target: well under 1 s)")
        print("\nstart-up (median of 10 runs; target < 0.3 s):")
        for label, seconds in bench_startup(tmp).items():
            print(f"  {label:<20} {seconds * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
