"""Starting and stopping runs on a host: run by the host's python3 (``python3 -c`` with this file's
text, the request as JSON on stdin), so it uses the standard library only.

``start`` starts each run detached (a new session, its output to the run's log, its input from
/dev/null) so the SSH call returns at once, and records in ``runs/<job>/run.pid`` its process id
and the claim it runs for. The run leads its own session, so stopping it stops everything it
started. A run of the same job under another claim that is still going is stopped first: two runs
never share a folder.

``tidy`` looks at every recorded run under the data root: one that is not a live claim of this
host is stopped, and its folder is removed once its job is finished (a job still unfinished may
come back to this host, and a train run resumes from the checkpoint in its folder). A folder
without ``run.pid`` was not started here (the controller's own data root holds its specs) and is
left alone.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

PID_FILE = "run.pid"
STOP_WAIT = 10.0  # seconds a stopped run is given to end before the next step goes on


def start(root, runs):
    """``runs``: [job id, claim_seq, argv, log path] each."""
    for job, claim, argv, log in runs:
        folder = os.path.join(root, "runs", str(int(job)))
        os.makedirs(folder, exist_ok=True)
        recorded = _recorded(folder)
        if recorded is not None and recorded[1] != claim:
            _stop(folder, int(job), recorded)
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        _record(folder, proc.pid, claim)
    return {"started": len(runs)}


def tidy(root, live, unfinished):
    """``live``: {job id: claim_seq} this host holds now; ``unfinished``: ids of jobs not finished."""
    live = {int(job): claim for job, claim in live.items()}
    unfinished = set(unfinished)
    runs = os.path.join(root, "runs")
    stopped, removed = [], []
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        folder = os.path.join(runs, name)
        recorded = _recorded(folder) if name.isdigit() else None
        if recorded is None or live.get(int(name)) == recorded[1]:
            continue
        if _stop(folder, int(name), recorded):
            stopped.append(int(name))
        if int(name) not in unfinished:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(int(name))
    return {"stopped": stopped, "removed": removed}


def _recorded(folder):
    """(pid, claim_seq) from the folder's run.pid, or None."""
    try:
        with open(os.path.join(folder, PID_FILE)) as handle:
            raw = json.load(handle)
        pid, claim = raw["pid"], raw["claim_seq"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if type(pid) is not int or type(claim) is not int or pid <= 1:
        return None
    return pid, claim


def _record(folder, pid, claim):
    temporary = os.path.join(folder, f".{PID_FILE}.{os.getpid()}")
    with open(temporary, "w") as out:
        json.dump({"pid": pid, "claim_seq": claim}, out)
    os.replace(temporary, os.path.join(folder, PID_FILE))


def _stop(folder, job, recorded):
    """SIGKILL the recorded run's session if that process is still this job's run; True if it was."""
    pid = recorded[0]
    try:
        if os.getsid(pid) != pid:  # gone, or the id now belongs to some other process
            return False
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
        spec = os.path.join(folder, "spec.json").encode()
        if b"run-job" not in words or not any(word.endswith(spec) for word in words):
            return False
        if _ended(pid):
            return False
    except OSError:
        pass  # no /proc (not Linux): the session id is the check
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        return False
    _wait_gone(pid, STOP_WAIT)
    return True


def _wait_gone(pid, seconds):
    """Wait (a little) until the killed process has ended: SIGKILL is delivered, not done, when kill returns."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.path.isdir("/proc"):
                if _ended(pid):
                    return
            else:
                os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.02)


def _ended(pid):
    """Whether /proc says the process has ended and only its parent has not collected its exit status
    (OSError when there is no such process)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return handle.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")


def main():
    action, root = sys.argv[1], sys.argv[2]
    request = json.loads(sys.stdin.read())
    if action == "start":
        answer = start(root, request["runs"])
    else:
        answer = tidy(root, request["live"], request["unfinished"])
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
