"""The root ``ringrift`` command: every command group is registered here."""

from __future__ import annotations

import sys

import click
import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import (Interrupted, UserError, crash_line, debug_enabled, environment_message,
                      write_crash_log)

INTERNAL_EXIT, USER_EXIT, INTERRUPT_EXIT, TERMINATED_EXIT = 1, 2, 130, 143


class RingriftGroup(TyperGroup):
    """The one error boundary: whatever goes wrong below, the user sees one line.

    A UserError (or a machine problem such as a full disk) exits 2; a usage
    mistake exits 2 with the click message; any other exception is a bug: one
    line naming a crash log with the traceback, exit 1.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`ringrift loop tick --dry-run | head`): nobody is left to
            # tell. Quiet exit 1, as rich does when its tables meet a closed pipe.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(INTERNAL_EXIT)
        except UserError as exc:
            fail(f"error: {exc}", USER_EXIT)
        except KeyboardInterrupt as exc:
            said = f"; {exc}" if str(exc) else ""
            if isinstance(exc, Interrupted):
                fail(f"terminated{said}", TERMINATED_EXIT)
            fail(f"interrupted{said}", INTERRUPT_EXIT)
        except Exception as exc:
            message = environment_message(exc)
            if message is not None:
                fail(f"error: {message}", USER_EXIT)
            if debug_enabled():
                import traceback

                traceback.print_exception(exc, file=sys.stderr)
            fail(crash_line(exc, write_crash_log(exc, ctx.command_path)), INTERNAL_EXIT)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        args = list(sys.argv[1:] if args is None else args)
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:  # bytes the locale could not decode: nothing can store them
                typer.echo(one_line(f"error: argument {ascii(arg)[:80]} is not valid UTF-8"), err=True)
                sys.exit(USER_EXIT)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help())
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            sys.exit(usage_exit(exc))
        except click.Abort:
            typer.echo("aborted", err=True)
            sys.exit(INTERNAL_EXIT)
        sys.exit(code if isinstance(code, int) else 0)


def fail(line: str, code: int):
    typer.echo(one_line(line), err=True)
    raise typer.Exit(code)


def one_line(text: str) -> str:
    """``text`` with control characters (a newline typed into a path, say) shown escaped, so an
    error is always exactly one line."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def usage_exit(exc: click.ClickException) -> int:
    """A usage mistake in one line (click's own layout spans five or more)."""
    message = " ".join(exc.format_message().split())
    command = getattr(getattr(exc, "ctx", None), "command_path", None)
    hint = f" (see `{command} --help`)" if command else ""
    typer.echo(one_line(f"error: {message[:300]}{hint}"), err=True)
    return exc.exit_code


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
    from . import (completion, config, hosts, init, lifecycle, loop, models, queue, rules, stages, status, sync,
                   worker)

    for module in (init, status, stages, sync, lifecycle, models, loop, queue, worker, config, hosts, rules, completion):
        module.register(app)


register_commands()


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM (systemd, `timeout`, a scheduler) like Ctrl-C, so a running job is handed
    back to the queue at once instead of waiting for its lease to run out."""
    import signal

    def interrupt(signum, frame):
        raise Interrupted

    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    import os

    from .completion import COMPLETE_VAR, enable_completion_answers

    if COMPLETE_VAR in os.environ:
        enable_completion_answers()
    interrupt_on_sigterm()
    app(prog_name="ringrift")
