"""Transfer throughput to a real sshd on 127.0.0.1: verified push/pull against bare rsync.

    python benchmarks/remote_bench.py [--mb 64] [--files 4] [--repeats 3]

Starts one sshd (as the test fixture does: generated keys, 127.0.0.1 only), makes FILES random
files of MB each, and moves them, median of REPEATS rounds (the variants take turns), each into
a fresh folder:
- bare rsync: one call for all files, with the very ssh command and flags the transport uses;
- push_files (sha256 here, one call for free disk and the hashes there, rsync, hashes there);
- pull_files (hashes there, rsync into staging, sha256 here, rename).
"ratio" = bare time / verified time (1.0: verification is free). Needs sshd and rsync; run as root.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "remote"))

from ringrift_cli.remote.hosts_file import Host  # noqa: E402
from ringrift_cli.remote.ssh import SshTransport  # noqa: E402
from ringrift_cli.remote.transfer import FileToMove, pull_files, push_files  # noqa: E402
from sshd_servers import keygen, missing_tools, start_sshd, stop  # noqa: E402


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
    args = parser.parse_args()
    if missing_tools():
        sys.exit(f"needs {', '.join(missing_tools())}")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rr-remote-bench-"))
    server = None
    try:
        keygen(work / "client_key")
        shutil.copy(work / "client_key.pub", work / "authorized_keys")
        server = start_sshd(work / "sshd", "bench", work / "authorized_keys")
        (work / "known_hosts").write_text(server.known_hosts_line() + "\n")
        host = Host(name="bench", ssh=f"root@127.0.0.1:{server.port}", identity_file=str(work / "client_key"),
                    known_hosts=str(work / "known_hosts"), home=str(work / "remote"), min_free_gb=0)
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

        total_mb = args.mb * args.files
        results = timed({"bare rsync": bare, "push_files": push, "pull_files": pull}, args.repeats, work / "runs")
        transport.close()
        base = results["bare rsync"]
        print(f"{args.files} files x {args.mb} MiB over ssh to 127.0.0.1, median of {args.repeats}")
        for name, seconds in results.items():
            print(f"  {name:12s} {seconds:7.2f} s  {total_mb / seconds:8.1f} MiB/s  ratio {base / seconds:.2f}")
    finally:
        if server is not None:
            stop([server])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
