"""``runs/<job>/status.json``: what a run step tells the controller, rewritten whole (temp + rename).

A host writes it; the controller reads it as untrusted input. ``read_status`` takes the text as it
arrived and returns a ``RunStatus`` only when every field has its type and bound, and every output
path resolves inside that job's run folder.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import UserError
from ..json_input import loads
from .spec import run_dir_of

STATUS_FILE = "status.json"
LOG_FILE = "log.txt"
STATES = ("running", "done", "failed")
MAX_OUTPUTS = 100
MAX_TEXT = 4000
MAX_STATUS = 1 << 20


class BadStatus(UserError):
    """A status file that cannot be trusted: malformed, or naming a file outside its run folder."""


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative to the data root, inside runs/<job>/
    sha256: str
    bytes: int


@dataclass(frozen=True)
class RunStatus:
    job_id: int
    claim_seq: int
    state: str  # running, done or failed
    heartbeat_at: float
    done: int = 0  # progress
    total: int = 0
    detail: str = ""
    outputs: tuple[OutputFile, ...] = ()
    result: dict = field(default_factory=dict)  # the stage's facts for publish (plain JSON)
    error: str | None = None
    log_tail: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, allow_nan=False)


def status_path(root: Path, job_id: int) -> Path:
    return root / run_dir_of(job_id) / STATUS_FILE


def write_status(root: Path, status: RunStatus) -> None:
    """Replace the status file whole: a reader sees the old one or the new one, never half of either."""
    path = status_path(root, status.job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".status.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(status.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_status(text: str, job_id: int) -> RunStatus:
    """Parse a status file's text for job ``job_id``; BadStatus unless it fits exactly."""
    from ..remote.transfer import SHA256

    if len(text) > MAX_STATUS:
        raise BadStatus(f"status of job {job_id} is {len(text)} bytes (at most {MAX_STATUS})")
    try:
        raw = loads(text, f"status of job {job_id}")
    except UserError as exc:
        raise BadStatus(str(exc)) from None
    names = {f for f in RunStatus.__dataclass_fields__}
    if not isinstance(raw, dict) or set(raw) != names:
        raise BadStatus(f"status of job {job_id}: expected the fields {sorted(names)}")
    if raw["job_id"] != job_id or type(raw["claim_seq"]) is not int:
        raise BadStatus(f"status of job {job_id} names job {str(raw['job_id'])[:20]}")
    if raw["state"] not in STATES:
        raise BadStatus(f"status of job {job_id}: state {str(raw['state'])[:20]!r} is not one of {STATES}")
    if isinstance(raw["heartbeat_at"], bool) or not isinstance(raw["heartbeat_at"], (int, float)):
        raise BadStatus(f"status of job {job_id}: heartbeat_at must be a time")
    for key in ("done", "total"):
        if type(raw[key]) is not int or not 0 <= raw[key] < 2**62:
            raise BadStatus(f"status of job {job_id}: {key} must be a whole number")
    for key in ("detail", "error", "log_tail"):
        if raw[key] is not None and not isinstance(raw[key], str):
            raise BadStatus(f"status of job {job_id}: {key} must be text")
    if not isinstance(raw["result"], dict):
        raise BadStatus(f"status of job {job_id}: result must be an object")
    if not isinstance(raw["outputs"], list) or len(raw["outputs"]) > MAX_OUTPUTS:
        raise BadStatus(f"status of job {job_id}: outputs must be a list of at most {MAX_OUTPUTS}")
    outputs = []
    for item in raw["outputs"]:
        if not isinstance(item, dict) or set(item) != {"path", "sha256", "bytes"} \
                or not isinstance(item["sha256"], str) or not SHA256.match(item["sha256"]) \
                or type(item["bytes"]) is not int or not 0 <= item["bytes"] < 2**62:
            raise BadStatus(f"status of job {job_id}: output {str(item)[:120]} is not a path, sha256 and size")
        outputs.append(OutputFile(inside_run_dir(item["path"], job_id), item["sha256"], item["bytes"]))
    clip = {key: (raw[key] or "")[-MAX_TEXT:] if raw[key] is not None else None for key in ("error", "log_tail")}
    return RunStatus(job_id, raw["claim_seq"], raw["state"], float(raw["heartbeat_at"]), raw["done"], raw["total"],
                     (raw["detail"] or "")[:MAX_TEXT], tuple(outputs), raw["result"], **clip)


def inside_run_dir(path, job_id: int) -> str:
    """``path`` if it names a file inside ``runs/<job_id>/`` (no '..', not absolute), else BadStatus."""
    from ..remote.transfer import RELATIVE

    run_dir = PurePosixPath(run_dir_of(job_id))
    if not isinstance(path, str) or not RELATIVE.match(path):
        raise BadStatus(f"job {job_id}: output path {str(path)[:120]!r} is not a plain relative path")
    pure = PurePosixPath(path)
    if ".." in pure.parts or pure.parent != run_dir or pure.name in (STATUS_FILE, "spec.json"):
        raise BadStatus(f"job {job_id}: output path {path[:120]!r} is outside its run folder {run_dir}/")
    return path
