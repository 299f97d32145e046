"""``ringrift completion SHELL``: print a shell completion script."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

PROG = "ringrift"
COMPLETE_VAR = "_RINGRIFT_COMPLETE"


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: str) -> str:
    """The completion script for ``shell`` (the files in completions/ are these, verbatim)."""
    from typer.completion import get_completion_script

    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell).rstrip("\n") + "\n"


def enable_completion_answers() -> None:
    """Let Typer's completers answer when a completion script calls back into ringrift.

    Only done when the shell asks, so ordinary runs do not pay for it.
    """
    from typer.completion import completion_init

    completion_init()


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script for SHELL.

    Install it with e.g. `ringrift completion bash > ~/.local/share/bash-completion/completions/ringrift`,
    or source one of the ready-made files in completions/.
    """
    typer.echo(completion_script(shell.value), nl=False)


def register(app: typer.Typer) -> None:
    app.command("completion")(completion)
