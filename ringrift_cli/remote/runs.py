"""Starting a job's runs on a host, reading back their status, stopping and removing stale ones.

Each is a single round trip built from fixed scripts whose variable parts are arguments (quoted
word by word on the SSH side) or JSON on stdin, never text pasted into the script.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from ..runner.spec import RunSpec, run_dir_of
from ..runner.status import LOG_FILE, MAX_STATUS, STATUS_FILE
from . import run_control
from .hosts_file import Host
from .transport import Transport, TransportError

RUN_CONTROL = Path(run_control.__file__).read_text()  # sent to the host's python3
MAX_ANSWER = 1 << 20
MAX_TIDIED = 100_000

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
    """Start ``ringrift run-job`` for each spec (already on the host under ``root``), detached, each
    recording its process id (see run_control.py)."""
    runs = [[spec.job_id, spec.claim_seq,
             [*command_words(transport.host), "run-job", f"{root}/{spec.spec_path}", "--home", root,
              "--heartbeat", f"{heartbeat_seconds:g}"], f"{root}/{run_dir_of(spec.job_id)}/{LOG_FILE}"]
            for spec in specs]
    answer = _run_control(transport, "start", root, {"runs": runs}, f"start job(s) "
                          f"{', '.join(str(spec.job_id) for spec in specs)}")
    if answer.get("started") != len(specs):
        raise TransportError(f"host {transport.host.name}: started {answer.get('started')} of {len(specs)} runs")


@dataclass(frozen=True)
class Tidied:
    stopped: list[int]  # jobs whose stale run was still going and was stopped
    removed: list[int]  # jobs whose run folder was removed


def tidy_runs(transport: Transport, root: str, live: dict[int, int], unfinished: list[int]) -> Tidied:
    """Stop the host's runs that are not ``live`` claims ({job: claim_seq}) and remove the folders of
    those whose job is not ``unfinished`` (see run_control.py)."""
    answer = _run_control(transport, "tidy", root, {"live": {str(job): claim for job, claim in live.items()},
                                                    "unfinished": unfinished}, "tidy its runs")
    lists = [answer.get(key) for key in ("stopped", "removed")]
    if not all(isinstance(items, list) and len(items) <= MAX_TIDIED and all(type(job) is int for job in items)
               for items in lists):
        raise TransportError(f"host {transport.host.name}: unexpected answer tidying its runs")
    return Tidied(*lists)


def _run_control(transport: Transport, action: str, root: str, request: dict, what: str) -> dict:
    started = transport.start(["python3", "-c", RUN_CONTROL, action, root], json.dumps(request))
    result = started.finish("", timeout=60)
    try:
        if not result.ok or len(result.stdout) > MAX_ANSWER:
            raise ValueError((result.stderr or result.stdout).strip()[-200:] or "no answer")
        answer = json.loads(result.stdout)
        if not isinstance(answer, dict):
            raise ValueError("unexpected answer")
    except ValueError as exc:
        raise TransportError(f"host {transport.host.name}: could not {what} (exit {result.exit_code}): {exc}") from None
    return answer


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
