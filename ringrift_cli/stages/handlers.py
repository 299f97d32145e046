"""Which function runs a job of each kind.

A handler takes the claimed ``Job`` and a ``JobContext`` and returns the
job's result (a JSON-able dict, or None). Raising fails the attempt.

Built-in stages register here as they are written; anyone can add or
replace handlers with a plugin module that defines ``HANDLERS = {kind: fn}``
(``ringrift worker --plugin my.module`` or ``RINGRIFT_PLUGINS=my.module``).
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..context import Context
from ..errors import UserError
from ..home import Home
from ..keys import STAGES
from ..store.queue import Job

PLUGINS_ENV = "RINGRIFT_PLUGINS"
PLUGIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}(\.[A-Za-z_][A-Za-z0-9_]{0,99}){0,9}")


@dataclass
class JobContext:
    """What a handler may use besides the job itself."""

    context: Context  # the data root, its open store (this thread's) and the settings
    worker: str
    # Set when the heartbeat finds the claim lost; a long handler should stop early.
    lease_lost: threading.Event = field(default_factory=threading.Event)
    # Called by long handlers with (done, total, detail) so a terminal can draw a bar.
    progress: Callable[[int, int, str], None] = lambda done, total, detail: None

    @property
    def home(self) -> Home:
        return self.context.home


Handler = Callable[[Job, JobContext], "dict | None"]


def builtin_handlers() -> dict[str, Handler]:
    """The stages ringrift implements itself (their heavy imports happen when a job runs)."""
    from .export import export_handler
    from .selfplay import selfplay_handler
    from .eval import eval_handler
    from .promote import promote_handler
    from .train import train_handler

    return {"selfplay": selfplay_handler, "export": export_handler, "train": train_handler, "eval": eval_handler,
            "promote": promote_handler}


def plugin_modules(cli_plugins: list[str] | None) -> list[str]:
    names = list(cli_plugins or [])
    names += [name.strip() for name in os.environ.get(PLUGINS_ENV, "").split(",") if name.strip()]
    return list(dict.fromkeys(names))


def load_handlers(plugins: list[str]) -> dict[str, Handler]:
    """Built-in handlers, overridden by those of each plugin module in order."""
    handlers = builtin_handlers()
    for name in plugins:
        if not PLUGIN_NAME.fullmatch(name):
            raise UserError(f"plugin {name[:60]!r} is not a module name such as my_plugins.stages")
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise UserError(f"cannot import plugin {name!r}: {exc}") from None
        except Exception as exc:  # the plugin's own code failed while loading: its bug, said in one line
            raise UserError(f"plugin {name!r} failed to load: {type(exc).__name__}: {str(exc)[:200]}") from None
        extra = getattr(module, "HANDLERS", None)
        if not isinstance(extra, dict):
            raise UserError(f"plugin {name!r} has no HANDLERS dict")
        for kind, handler in extra.items():
            if kind not in STAGES:
                raise UserError(f"plugin {name!r} handles unknown kind {kind!r}; valid kinds: {', '.join(STAGES)}")
            if not callable(handler):
                raise UserError(f"plugin {name!r}: handler for {kind!r} is not callable")
            handlers[kind] = handler
    return handlers
