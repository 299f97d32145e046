"""The one exception type for mistakes a user can fix, and what the CLI does with every other.

The CLI turns a ``UserError`` into a single line on stderr and exit code 2.
Anything else is a bug: one line naming a crash log that holds the
traceback, and exit code 1 (``RINGRIFT_DEBUG=1`` prints the traceback too).
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
import traceback
from pathlib import Path

DEBUG_ENV = "RINGRIFT_DEBUG"
CRASH_DIR_ENV = "RINGRIFT_CRASH_DIR"


class UserError(Exception):
    """Bad input, a missing file, a refused state: say what and how to fix it."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so the running job is handed back (exit 143, not 130)."""


# Errors of the machine rather than of ringrift: said in one line, exit 2, no crash log.
ENVIRONMENT_ERRNOS = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
                      errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                      errno.EROFS: "read-only file system", errno.ENAMETOOLONG: "file name too long",
                      errno.ENOTDIR: "not a directory", errno.EISDIR: "is a directory"}


def environment_message(exc: BaseException) -> str | None:
    """One line for an OSError the user must fix on the machine (disk full, permissions), else None."""
    if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{ENVIRONMENT_ERRNOS[exc.errno]}{where}"
    return None


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT) or (
        "database or disk is full" in str(exc))


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def write_crash_log(exc: BaseException, command: str) -> Path | None:
    """Write the traceback to a new crash log and return its path (None if nothing could be written)."""
    folder = Path(os.environ.get(CRASH_DIR_ENV) or tempfile.gettempdir())
    name = f"ringrift-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    text = f"ringrift {command}\n" + "".join(traceback.format_exception(exc))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path
    except OSError:
        return None


def crash_line(exc: BaseException, log: Path | None) -> str:
    summary = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    where = f"traceback in {log}" if log else "no crash log could be written; rerun with RINGRIFT_DEBUG=1"
    return f"internal error (a bug in ringrift): {summary} ({where})"
