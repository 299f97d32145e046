"""``ringrift config ...``: show and change settings."""

from __future__ import annotations

from typing import Annotated

import typer

from ..context import open_context
from ..settings import coerce, setting_for
from ..store.settings import remove_setting, store_setting
from .options import HomeOption, JsonOption
from .render import console, print_json, table

config_app = typer.Typer(help="Show and change settings (thresholds and switches).", no_args_is_help=True)


@config_app.command("show")
def show(home: HomeOption = None, json_output: JsonOption = False) -> None:
    """Every setting with its effective value and where it came from (default, profile, yaml, cli)."""
    with open_context(home, write=False) as ctx:
        effective = ctx.effective_settings
    if json_output:
        print_json([{"key": e.setting.key, "value": e.value, "source": e.source,
                     "default": e.setting.default, "help": e.setting.help} for e in effective])
        return
    profile = next(e.value for e in effective if e.setting.key == "profile")
    out = table(f"settings (profile in force: {profile})", ["key", "value", "source", "default", "meaning"])
    for e in effective:
        out.add_row(e.setting.key, str(e.value), e.source, str(e.setting.default), e.setting.help)
    console().print(out)


@config_app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="Setting key (see `ringrift config show`).", show_default=False)],
    value: Annotated[str, typer.Argument(help="New value; checked against the setting's type and range.", show_default=False)],
    home: HomeOption = None,
) -> None:
    """Set a setting in the state file (overrides ringrift.yaml and the default)."""
    setting = setting_for(key)
    parsed = coerce(setting, value)
    with open_context(home) as ctx:
        store_setting(ctx.store, key, parsed)
    typer.echo(f"{key} = {parsed}")


@config_app.command("unset")
def unset(
    key: Annotated[str, typer.Argument(help="Setting key.", show_default=False)],
    home: HomeOption = None,
) -> None:
    """Forget a value set with `config set`, so ringrift.yaml or the default applies again."""
    setting_for(key)
    with open_context(home) as ctx:
        removed = remove_setting(ctx.store, key)
    typer.echo(f"{key} unset" if removed else f"{key} was not set; nothing changed")


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
