"""The root ``ringrift`` command: every command group is registered here."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import UserError


class RingriftGroup(TyperGroup):
    """Turns a UserError anywhere below into one line on stderr and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="ringrift",
    cls=RingriftGroup,
    help="Train RingRift AIs by self-improvement: selfplay -> sync -> export -> train -> eval -> promote, "
    "driven by one SQLite work-queue. Nothing stays running: commands do bounded work and exit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ringrift {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Train RingRift AIs by self-improvement."""


def register_commands() -> None:
    from . import completion, config, hosts, init, lifecycle, models, queue, rules, stages, status, worker

    for module in (init, status, stages, lifecycle, models, queue, worker, config, hosts, rules, completion):
        module.register(app)


register_commands()


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM (systemd, `timeout`, a scheduler) like Ctrl-C, so a running job is handed
    back to the queue at once instead of waiting for its lease to run out."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    import os

    from .completion import COMPLETE_VAR, enable_completion_answers

    if COMPLETE_VAR in os.environ:
        enable_completion_answers()
    interrupt_on_sigterm()
    app(prog_name="ringrift")
