"""The job runtime moved to ``ringrift_cli.runner.worker``; this name keeps older imports working."""

from ..runner.worker import (BadResult, HandlerError, Heartbeat, StageFailed, WorkerReport,  # noqa: F401
                             checked_result, default_worker_name, run_handler, run_handler_releasing, run_here,
                             run_worker, signals_held)
