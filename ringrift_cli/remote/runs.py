"""Starting a job's run on a host and reading back its status, over the host's transport.

Both are single round trips built from fixed scripts whose variable parts are arguments (quoted word
by word on the SSH side), never text pasted into the script.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

from ..runner.spec import RunSpec, run_dir_of
from ..runner.status import LOG_FILE, MAX_STATUS, STATUS_FILE
from .hosts_file import Host
from .transport import Transport, TransportError

# Detached: a new session (setsid) that ignores the hang-up (nohup), its output to the run's log and
# its input from /dev/null, so the SSH channel closes and this call returns at once.
DETACH = 'log=$1; shift; mkdir -p "${log%/*}" && setsid nohup "$@" >>"$log" 2>&1 </dev/null & echo started'
# Every asked job's status file, as {job id: text or null}, in one round trip.
READ_STATUSES = f"""
import json, os, sys
root, found = sys.argv[1], {{}}
for job in sys.argv[2:]:
    path = os.path.join(root, "runs", job, "{STATUS_FILE}")
    try:
        with open(path, "rb") as handle:
            found[job] = handle.read({MAX_STATUS} + 1).decode("utf-8", "replace")
    except OSError:
        found[job] = None
print(json.dumps(found))
"""


def command_words(host: Host) -> list[str]:
    """The host's ``ringrift``; on the local machine the default means this very ringrift (same version,
    same Python) rather than whichever one PATH finds."""
    if host.is_local and host.command == "ringrift":
        return [sys.executable, "-m", "ringrift_cli"]
    return list(host.command_words)


def start_run(transport: Transport, root: str, spec: RunSpec, heartbeat_seconds: float) -> None:
    """Start ``ringrift run-job`` for ``spec`` (already on the host under ``root``), detached."""
    log = f"{root}/{run_dir_of(spec.job_id)}/{LOG_FILE}"
    argv = [*command_words(transport.host), "run-job", f"{root}/{spec.spec_path}", "--home", root,
            "--heartbeat", f"{heartbeat_seconds:g}"]
    result = transport.run(["sh", "-c", DETACH, "sh", log, *argv], timeout=30)
    if not result.ok or "started" not in result.stdout:
        raise TransportError(f"host {transport.host.name}: could not start job {spec.job_id} "
                             f"(exit {result.exit_code}): {(result.stderr or result.stdout).strip()[-200:]}")


@dataclass(frozen=True)
class StatusTexts:
    texts: dict[int, str | None]  # job id -> status.json as read, None when there is none yet


def read_status_texts(transport: Transport, root: str, job_ids: list[int]) -> StatusTexts:
    """The status files of ``job_ids`` under ``root``; TransportError when the host cannot say."""
    result = transport.run(["python3", "-c", READ_STATUSES, root, *map(str, job_ids)], timeout=30)
    try:
        if not result.ok or len(result.stdout) > (MAX_STATUS + 64) * max(1, len(job_ids)):
            raise ValueError(result.stderr.strip()[-200:] or "no answer")
        raw = json.loads(result.stdout)
        texts = {int(job): text for job, text in raw.items()
                 if int(job) in job_ids and (text is None or isinstance(text, str))}
    except (ValueError, TypeError, AttributeError) as exc:
        raise TransportError(f"host {transport.host.name}: cannot read run statuses under {root}: {exc}") from None
    return StatusTexts(texts)
