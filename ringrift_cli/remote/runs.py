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

# Each run detached: a new session, its output to the run's log, its input from /dev/null, so the SSH
# channel closes and the call returns at once. One round trip for any number of runs; the argv lists
# arrive as one JSON argument.
START_RUNS = """
import json, os, subprocess, sys
for argv, log in json.loads(sys.argv[1]):
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
print("started")
"""
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


def start_runs(transport: Transport, root: str, specs: list[RunSpec], heartbeat_seconds: float) -> None:
    """Start ``ringrift run-job`` for each spec (already on the host under ``root``), detached."""
    runs = [([*command_words(transport.host), "run-job", f"{root}/{spec.spec_path}", "--home", root,
              "--heartbeat", f"{heartbeat_seconds:g}"], f"{root}/{run_dir_of(spec.job_id)}/{LOG_FILE}")
            for spec in specs]
    result = transport.run(["python3", "-c", START_RUNS, json.dumps(runs)], timeout=60)
    if not result.ok or "started" not in result.stdout:
        raise TransportError(f"host {transport.host.name}: could not start job(s) "
                             f"{', '.join(str(spec.job_id) for spec in specs)} (exit {result.exit_code}): "
                             f"{(result.stderr or result.stdout).strip()[-200:]}")


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
