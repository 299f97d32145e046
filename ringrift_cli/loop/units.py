"""Scheduling files for `ringrift loop tick`: systemd units and a cron line, filled with real paths.

The copies in deploy/systemd/ are this module's output for the default paths (a test
keeps them equal), so there is one source for each file.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

TICK_SERVICE = """\
[Unit]
Description=ringrift loop tick: one bounded pass over the work-queue
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={workdir}
Environment={environment}
ExecStart={ringrift} loop tick --home {home}
# A tick finishes in seconds; one that hangs is stopped long before its lock expires.
TimeoutStartSec=300
Nice=5
"""

TICK_TIMER = """\
[Unit]
Description=Run the ringrift loop tick every minute

[Timer]
OnCalendar=*-*-* *:*:00
# A tick missed while the machine was off runs once at boot.
Persistent=true
AccuracySec=5s
Unit=ringrift-tick.service

[Install]
WantedBy=timers.target
"""

WORKER_SERVICE = """\
[Unit]
Description=ringrift worker: runs queued jobs on this machine
After=network-online.target

[Service]
Type=simple
WorkingDirectory={workdir}
Environment={environment}
ExecStart={ringrift} worker --home {home}
# The worker exits when the queue is empty; systemd starts it again a little later.
Restart=always
RestartSec=30
# SIGTERM hands the running job back to the queue at once.
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=multi-user.target
"""

CRON_LINE = ("* * * * * cd {workdir} && flock -n {lockfile} {ringrift} loop tick --home {home}"
             " >> {logfile} 2>&1")


# What deploy/systemd/ is generated for: a service user whose data root is /var/lib/ringrift.
DEFAULTS = (Path("/var/lib/ringrift"), ["/usr/local/bin/ringrift"], Path("/var/lib/ringrift"))


@dataclass(frozen=True)
class UnitFile:
    name: str
    text: str


def unit_files(home: Path, ringrift: list[str], workdir: Path) -> list[UnitFile]:
    """The three units; ``ringrift`` is the command that runs ringrift (e.g. its path, or python -m)."""
    values = {"home": _systemd_word(str(home)), "environment": _systemd_word(f"RINGRIFT_HOME={home}"), "ringrift": " ".join(_systemd_word(w) for w in ringrift),
              "workdir": _systemd_word(str(workdir))}
    return [UnitFile("ringrift-tick.service", TICK_SERVICE.format(**values)),
            UnitFile("ringrift-tick.timer", TICK_TIMER),
            UnitFile("ringrift-worker.service", WORKER_SERVICE.format(**values))]


def cron_line(home: Path, ringrift: list[str], workdir: Path) -> str:
    return CRON_LINE.format(workdir=shlex.quote(str(workdir)), home=shlex.quote(str(home)),
                            ringrift=shlex.join(ringrift), lockfile=shlex.quote(str(home / "tick.flock")),
                            logfile=shlex.quote(str(home / "tick.log")))


def _systemd_word(text: str) -> str:
    """One word of a systemd command line: % doubled, and quoted when it holds spaces or quotes."""
    text = text.replace("%", "%%")
    if not any(ch.isspace() or ch in "\"'\\" for ch in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
