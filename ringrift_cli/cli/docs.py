"""Render every command's ``--help`` into Markdown (``docs/cli.md``).

Regenerate with ``python -m ringrift_cli.cli.docs > docs/cli.md``; a test
fails when the file is stale.
"""

from __future__ import annotations

import click
import typer

from .app import app

WIDTH = 100


def walk(command: click.Command, path: list[str]):
    """Yield (path, command) for ``command`` and every subcommand, depth first, sorted."""
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if not sub.hidden:
                yield from walk(sub, [*path, name])


def plain_help(command: click.Command, path: list[str]) -> str:
    """Click's plain-text help (not Typer's rich panels, which depend on the terminal)."""
    ctx = click.Context(command, info_name=" ".join(path), terminal_width=WIDTH, max_content_width=WIDTH)
    formatter = ctx.make_formatter()
    # A group's own format_options already lists its subcommands.
    click.Command.format_help(command, ctx, formatter)
    return formatter.getvalue().rstrip() + "\n"


def render_cli_docs() -> str:
    root = typer.main.get_command(app)
    parts = ["# ringrift command reference\n",
             "Generated from `--help` by `python -m ringrift_cli.cli.docs > docs/cli.md`; do not edit by hand.\n"]
    for path, command in walk(root, ["ringrift"]):
        parts.append(f"## `{' '.join(path)}`\n\n```text\n{plain_help(command, path)}```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render_cli_docs(), end="")
