"""Transfer throughput to a real sshd on 127.0.0.1: verified push/pull against bare rsync.

    python benchmarks/remote_bench.py [--mb 64] [--files 4] [--repeats 3]

Starts one sshd (as the test fixture does: generated keys, 127.0.0.1 only), makes FILES random
files of MB each, and moves them, median of REPEATS rounds (the variants take turns), each into
a fresh folder:
- bare rsync: one call for all files, with the very ssh command and flags the transport uses;
- push_files (rsync with the free-disk check in its remote shell, while the host hashes each file as
  it lands; then each copy judged by its registered sha256);
- pull_files (rsync into staging while each file is hashed here as it lands, then renamed).
"ratio" = bare time / verified time (1.0: verification is free). Needs sshd and rsync; run as root.

    python benchmarks/remote_bench.py --sync [--mb 64] [--files 4] [--repeats 3]

The same files registered as NPZ shards of a controller and moved by `ringrift sync --kind npz` (the
host has role train) into a fresh data root each round, against bare rsync of the same files.

    python benchmarks/remote_bench.py --dispatch [--jobs 8] [--polls 10]

Dispatch and poll latency of `loop tick` with two sshd hosts (4 slots each): the dispatch pass that
claims, plans, pushes the spec and starts JOBS selfplay runs detached; then POLLS collection passes
while all of them run (read every status file, renew every lease). The floor, in the same run: a
fresh SSH connection and one command on both hosts at once, which every pass pays at least once per
host. The runs are long selfplay jobs at nice 19 (so they stay busy); they are stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "remote"))

from ringrift_cli.remote.hosts_file import Host  # noqa: E402
from ringrift_cli.remote.ssh import SshTransport  # noqa: E402
from ringrift_cli.remote.transfer import FileToMove, pull_files, push_files  # noqa: E402
from sshd_servers import keygen, missing_tools, start_sshd, stop  # noqa: E402



@contextmanager
def bench_host(prefix: str, **fields):
    """(work folder, Host) for one sshd on 127.0.0.1 with throwaway keys; stopped and removed after."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    server = None
    try:
        keygen(work / "client_key")
        shutil.copy(work / "client_key.pub", work / "authorized_keys")
        server = start_sshd(work / "sshd", "bench", work / "authorized_keys")
        (work / "known_hosts").write_text(server.known_hosts_line() + "\n")
        yield work, Host(name="bench", ssh=f"root@127.0.0.1:{server.port}", identity_file=str(work / "client_key"),
                         known_hosts=str(work / "known_hosts"), home=str(work / "remote"), min_free_gb=0, **fields)
    finally:
        if server is not None:
            stop([server])
        shutil.rmtree(work, ignore_errors=True)


def print_ratios(title: str, results: dict[str, float], total_mb: float) -> None:
    """Seconds, MiB/s and the ratio to bare rsync (the first baseline) of each measured way."""
    base = results["bare rsync"]
    print(title)
    for name, seconds in results.items():
        print(f"  {name:14s} {seconds:7.2f} s  {total_mb / seconds:8.1f} MiB/s  ratio {base / seconds:.2f}")

def timed(variants: dict, repeats: int, work: Path) -> dict[str, float]:
    """Median seconds of each variant, each run into a fresh folder; the variants take turns in every
    round, so a change in the machine's load falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, action in variants.items():
            fresh = work / name.replace(" ", "_")
            shutil.rmtree(fresh, ignore_errors=True)
            fresh.mkdir(parents=True)
            started = time.perf_counter()
            action(fresh)
            times[name].append(time.perf_counter() - started)
            shutil.rmtree(fresh, ignore_errors=True)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="size of each file in MiB")
    parser.add_argument("--files", type=int, default=4, help="how many files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant (median reported)")
    parser.add_argument("--dispatch", action="store_true", help="measure dispatch and poll latency instead")
    parser.add_argument("--sync", action="store_true", help="measure `ringrift sync` against bare rsync instead")
    parser.add_argument("--jobs", type=int, default=8, help="busy jobs (with --dispatch)")
    parser.add_argument("--polls", type=int, default=10, help="collection passes timed (with --dispatch)")
    args = parser.parse_args()
    if missing_tools():
        sys.exit(f"needs {', '.join(missing_tools())}")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    if args.dispatch:
        dispatch_latency(args.jobs, args.polls)
        return
    if args.sync:
        sync_throughput(args.mb, args.files, args.repeats)
        return
    with bench_host("rr-remote-bench-") as (work, host):
        source = work / "files"
        files = []
        for index in range(args.files):
            path = source / f"npz/hex8_2p/shard{index}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.mb << 20))
            files.append(FileToMove(str(path.relative_to(source)), hashlib.sha256(path.read_bytes()).hexdigest()))
        transport = SshTransport(host)
        transport.run(["true"])

        def bare(dest: Path) -> None:
            argv = transport.rsync_argv(f"{source}/", f"root@127.0.0.1:{dest}/")
            subprocess.run(argv, check=True, input="".join(f"{item.path}\n" for item in files), text=True)

        def push(dest: Path) -> None:
            assert len([item for item in push_files(transport, source, str(dest), files).moved if item.sent]) == len(files)

        pushed = work / "remote" / "pushed"
        push(pushed)

        def pull(dest: Path) -> None:
            assert len([item for item in pull_files(transport, str(pushed), dest, files).moved if item.sent]) == len(files)

        results = timed({"bare rsync": bare, "push_files": push, "pull_files": pull}, args.repeats, work / "runs")
        transport.close()
        print_ratios(f"{args.files} files x {args.mb} MiB over ssh to 127.0.0.1, median of {args.repeats}", results,
                     args.mb * args.files)


def dispatch_latency(jobs: int, polls: int) -> None:
    import shlex
    from concurrent.futures import ThreadPoolExecutor

    from ringrift_cli.context import open_context
    from ringrift_cli.loop.hosts_step import HostsReport, collect, dispatch, host_worker, knobs_of, usable_hosts
    from ringrift_cli.remote.hosts_file import load_hosts
    from ringrift_cli.remote.transport import open_transport
    from ringrift_cli.store import queue as q
    from ringrift_cli.store.settings import store_setting

    work = Path(tempfile.mkdtemp(prefix="rr-dispatch-bench-"))
    servers = []
    try:
        keygen(work / "client_key")
        shutil.copy(work / "client_key.pub", work / "authorized_keys")
        servers = [start_sshd(work / name, name, work / "authorized_keys") for name in ("h1", "h2")]
        (work / "known_hosts").write_text("".join(s.known_hosts_line() + "\n" for s in servers))
        wrapper = work / "ringrift"
        wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec nice -n 19 "
                           f"{shlex.quote(sys.executable)} -m ringrift_cli \"$@\"\n")
        wrapper.chmod(0o755)
        lines = ["hosts:"]
        for server in servers:
            lines += [f"  - name: {server.name}", f"    ssh: root@127.0.0.1:{server.port}", "    slots: 4",
                      f"    identity_file: {work / 'client_key'}", f"    known_hosts: {work / 'known_hosts'}",
                      f"    home: {work / server.name / 'data'}", f"    command: {wrapper}", "    min_free_gb: 0"]
        (work / "hosts.yaml").write_text("\n".join(lines) + "\n")
        hosts = load_hosts(work / "hosts.yaml")
        home = work / "controller"
        subprocess.run([sys.executable, "-m", "ringrift_cli", "init", "--home", str(home)], check=True,
                       capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        with open_context(home) as ctx:
            store_setting(ctx.store, "queue.lease_seconds", 600)
            for _ in range(jobs):
                q.enqueue(ctx.store, q.JobSpec("selfplay", "hex8_2p", params={
                    "games": 100_000, "sims": 1, "parallel": 1, "procs": 1, "model": "none"}))

        def one_command(host) -> None:
            with open_transport(host) as transport:
                transport.run(["true"])

        def floor() -> float:
            started = time.perf_counter()
            with ThreadPoolExecutor(len(hosts)) as pool:
                list(pool.map(one_command, hosts))
            return time.perf_counter() - started

        with open_context(home) as ctx:
            policy = ctx.queue_policy()
            floors = [floor() for _ in range(3)]
            started = time.perf_counter()
            assert len(usable_hosts(ctx, hosts, knobs_of(ctx, policy), time.time())) == len(hosts)
            probed = time.perf_counter() - started  # the first tick's probe of hosts never checked
            started = time.perf_counter()
            report = HostsReport()
            dispatch(ctx, hosts, policy, time.time(), report)
            dispatched = time.perf_counter() - started
            assert len(report.dispatched) == jobs, report
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(
                    (h_home / "runs" / str(item["job_id"]) / "status.json").exists()
                    for item in report.dispatched for h_home in [work / item["host"] / "data"]):
                time.sleep(0.2)
            times = []
            for _ in range(polls):
                passed = HostsReport()
                started = time.perf_counter()
                collect(ctx, hosts, policy, time.time(), passed)
                times.append(time.perf_counter() - started)
                assert not passed.refused and not passed.unreachable, passed
            claimed = q.list_jobs(ctx.store, status="claimed")
            busy = len(claimed)
            held = {h.name: sum(job.claimed_by == host_worker(h.name) for job in claimed) for h in hosts}
        print(f"{jobs} selfplay jobs on 2 sshd hosts (4 slots each) at 127.0.0.1; {busy} busy after the polls "
              f"({held})")
        print(f"  floor: connect + one command on both hosts at once  median {statistics.median(floors) * 1000:7.0f} ms")
        print(f"  first tick only: probe of both hosts (`hosts check`)  {probed * 1000:7.0f} ms")
        print(f"  dispatch pass ({jobs} jobs: claim, plan, push spec, start)  {dispatched * 1000:7.0f} ms "
              f"({dispatched / jobs * 1000:.0f} ms per job)")
        print(f"  poll pass ({jobs} busy: read statuses, renew leases)  median {statistics.median(times) * 1000:7.0f} ms"
              f"  (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {polls} passes)")
    finally:
        stop_runs(work)
        stop(servers)
        shutil.rmtree(work, ignore_errors=True)


def sync_throughput(mb: int, count: int, repeats: int) -> None:
    from dataclasses import replace

    from ringrift_cli.context import open_context
    from ringrift_cli.remote.sync import sync_hosts
    from ringrift_cli.store.artifacts import register_artifact_in

    with bench_host("rr-sync-bench-", roles=("train",)) as (work, host):
        home = work / "controller"
        subprocess.run([sys.executable, "-m", "ringrift_cli", "init", "--home", str(home)], check=True,
                       capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        files = []
        with open_context(home) as ctx:
            for index in range(count):
                path = home / f"npz/hex8_2p/shard{index}.npz"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(os.urandom(mb << 20))
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                files.append(str(path.relative_to(home)))
                with ctx.store.write() as conn:
                    register_artifact_in(conn, kind="npz", config_key="hex8_2p", path=files[-1], sha256=digest,
                                         size=path.stat().st_size, meta={"samples": 1})
        transport = SshTransport(host)
        transport.run(["true"])

        def bare(dest: Path) -> None:
            argv = transport.rsync_argv(f"{home}/", f"root@127.0.0.1:{dest}/")
            subprocess.run(argv, check=True, input="".join(f"{path}\n" for path in files), text=True)

        def synced(dest: Path) -> None:
            with open_context(home) as ctx:
                (report,) = sync_hosts(ctx, [replace(host, home=str(dest))], ("npz",), dry_run=False,
                                       now=time.time())
            assert len(report.pushed) == count and not report.refused and not report.error, report

        results = timed({"bare rsync": bare, "ringrift sync": synced}, repeats, work / "runs")
        transport.close()
        print_ratios(f"{count} files x {mb} MiB over ssh to 127.0.0.1 (`ringrift sync --kind npz`), median of {repeats}",
                     results, mb * count)


def stop_runs(work: Path) -> None:
    """SIGKILL the detached run-job processes this benchmark started: those whose command line names its folder."""
    import signal

    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "run-job" in cmdline and str(work) in cmdline:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main()
