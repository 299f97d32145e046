"""Stage handlers used by worker tests (loaded with --plugin / RINGRIFT_PLUGINS)."""

import os
import time
from pathlib import Path


def slow_selfplay(job, context):
    """Marks that it started, then works for ``params['seconds']`` (default 60)."""
    marker = Path(os.environ["RINGRIFT_TEST_MARKER"])
    marker.write_text(f"{job.id} {context.worker}\n")
    time.sleep(job.params.get("seconds", 60))
    return {"slept": job.params.get("seconds", 60)}


def quick_selfplay(job, context):
    return {"games": job.params.get("games", 1), "worker": context.worker}


def failing_export(job, context):
    raise RuntimeError("export exploded")


HANDLERS = {"selfplay": slow_selfplay, "export": failing_export}
QUICK = {"selfplay": quick_selfplay}
