"""``ringrift run-job SPEC``: the run step of one job, from its spec file, on whatever machine holds it.

It reads the spec and the input files it names, and writes only under ``runs/<job>/``: the outputs,
and ``status.json`` (rewritten whole every heartbeat: progress, the time, then the outputs with
their sizes and sha256, or the error and the log's tail). It never opens a state file: the
controller reads the status and does the rest.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path

from ..errors import UserError
from .spec import RunSpec, read_spec
from .status import LOG_FILE, RunStatus, write_status

LOG_TAIL = 2000


def run_steps():
    """The run step of each kind in RUN_KINDS: (spec, root, progress, stop, lock timeout) -> RunStatus."""
    from ..stages.eval import run_eval
    from ..stages.export import run_export
    from ..stages.promote import run_promote
    from ..stages.selfplay import run_selfplay
    from ..stages.train import run_train

    return {"selfplay": lambda spec, root, progress, stop, lease: run_selfplay(spec, root, progress, stop,
                                                                               lock_timeout=lease),
            "export": lambda spec, root, progress, stop, lease: run_export(spec, root, progress, stop),
            "train": lambda spec, root, progress, stop, lease: run_train(spec, root, progress, stop),
            "eval": lambda spec, root, progress, stop, lease: run_eval(spec, root, progress, stop, lock_timeout=lease),
            "promote": lambda spec, root, progress, stop, lease: run_promote(spec, root, progress, stop,
                                                                             lock_timeout=lease)}


def spec_in_root(root: Path, spec_path: Path) -> RunSpec:
    """The spec, which must be ``runs/<job>/spec.json`` of the job it names under ``root``."""
    spec = read_spec(spec_path)
    if spec_path.resolve() != (root / spec.spec_path).resolve():
        raise UserError(f"{spec_path} is not {root / spec.spec_path}: a spec lives in its job's run folder")
    return spec


def run_job(root: Path, spec_path: Path, *, heartbeat_seconds: float) -> RunStatus:
    """Run the spec's step while a thread rewrites its status every ``heartbeat_seconds``; return
    (and leave in status.json) the final status."""
    spec = spec_in_root(root, spec_path)
    current = [RunStatus(spec.job_id, spec.claim_seq, "running", time.time())]
    lock = threading.Lock()
    stopping = threading.Event()

    def beat() -> None:
        with lock:
            current[0] = replace(current[0], heartbeat_at=time.time())
            write_status(root, current[0])

    def progress(done: int, total: int, detail: str) -> None:
        with lock:
            current[0] = replace(current[0], done=done, total=total, detail=detail[:500])

    def beating() -> None:
        while not stopping.wait(heartbeat_seconds):
            beat()

    beat()
    thread = threading.Thread(target=beating, name=f"status-{spec.job_id}", daemon=True)
    thread.start()
    try:
        final = run_steps()[spec.kind](spec, root, progress, threading.Event(), max(heartbeat_seconds * 4, 60.0))
    except Exception as exc:  # the run's failure is reported to the controller, not raised
        said = "".join(traceback.format_exception_only(exc)).strip()
        final = replace(current[0], state="failed", error=said[-2000:])
    finally:
        stopping.set()
        thread.join()
    if final.state == "failed":
        final = replace(final, log_tail=log_tail(root / spec.run_dir / LOG_FILE))
    final = replace(final, heartbeat_at=time.time())
    write_status(root, final)
    return final


def log_tail(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(0, handle.tell() - LOG_TAIL))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None
