"""Starting a job's run on a host and reading back its status, over the host's transport.

Both are single round trips built from fixed scripts whose variable parts are arguments (quoted word
by word on the SSH side), never text pasted into the script.
"""

from __future__ import annotations

import json
import secrets
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
# Every asked job's status file in one round trip, by the shell alone (a python3 start costs far more
# than the read): each file after a line holding a marker no file content can guess and the job id,
# at most MAX_STATUS + 1 bytes of it, or the marker and "-none" when there is no such file.
READ_STATUSES = (f'mark=$1; root=$2; shift 2; for job; do printf "\\n%s %s\\n" "$mark" "$job"; '
                 f'head -c {MAX_STATUS + 1} -- "$root/runs/$job/{STATUS_FILE}" 2>/dev/null || printf "%s-none" "$mark"; '
                 'done')


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
    mark = secrets.token_hex(16)
    result = transport.run(["sh", "-c", READ_STATUSES, "sh", mark, root, *map(str, job_ids)], timeout=30)
    if not result.ok or len(result.stdout) > (MAX_STATUS + 128) * max(1, len(job_ids)):
        raise TransportError(f"host {transport.host.name}: cannot read run statuses under {root} (exit "
                             f"{result.exit_code}): {result.stderr.strip()[-200:] or 'no answer'}")
    texts: dict[int, str | None] = {}
    for part in result.stdout.split(f"\n{mark} ")[1:]:
        job, _, text = part.partition("\n")
        if job.isdigit() and int(job) in job_ids:
            texts[int(job)] = None if text == f"{mark}-none" else text
    return StatusTexts(texts)
