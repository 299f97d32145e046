"""``ringrift models ls|show`` and ``ringrift elo``: the registry and the ratings."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..context import open_context
from ..keys import check_config_key
from .options import HomeOption, JsonOption
from .render import clock, console, fitted_table, print_json, table

models_app = typer.Typer(help="The trained models: status, lineage, metrics, Elo, file sha256.", no_args_is_help=True)


def model_view(ctx, model, ratings) -> dict:
    from ..store.artifacts import get_artifact
    from ..verify import artifact_problem

    artifact = get_artifact(ctx.store, model.artifact_id)
    file_ok = artifact_problem(ctx.home.root, artifact) is None
    rating = ratings.get(model.id)
    return {"id": model.id, "config_key": model.config_key, "status": model.status, "path": artifact.path,
            "sha256": artifact.sha256, "file_ok": file_ok, "parent_id": model.parent_id,
            "encoder_version": model.encoder_version, "metrics": model.metrics, "lineage": model.lineage,
            "reason": model.reason, "evidence": model.evidence, "created_at": model.created_at,
            "elo": None if rating is None else {"elo": rating.elo, "low": rating.low, "high": rating.high,
                                                "games": rating.games}}


def elo_text(view: dict) -> str:
    elo = view["elo"]
    return "·" if elo is None else f"{elo['elo']:.0f} ±{(elo['high'] - elo['low']) / 2:.0f}"


@models_app.command("ls")
def ls(
    config_key: Annotated[Optional[str], typer.Argument(help="Only this config, e.g. hex8_2p.", show_default=False)] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """List models (oldest first) with status, validation losses, Elo and whether the file matches its sha256."""
    from ..elo import config_ratings
    from ..store.models import list_models

    if config_key is not None:
        check_config_key(config_key)
    with open_context(home) as ctx:
        models = list_models(ctx.store, config_key)
        ratings = {key: config_ratings(ctx.store, key) for key in {m.config_key for m in models}}
        views = [model_view(ctx, m, ratings[m.config_key]) for m in models]
    if json_output:
        print_json({"models": views})
        return
    # Validation figures under short headers, and the creation time as the one column that gives
    # way: on an 80-column terminal the id must stay whole, since users type it.
    rows = [[v["id"][:12], v["config_key"], v["status"], f"{v['metrics'].get('val_policy_loss', 0):.3f}",
             f"{v['metrics'].get('val_value_loss', 0):.3f}", f"{v['metrics'].get('val_top1', 0):.1%}",
             elo_text(v), "ok" if v["file_ok"] else "FAILS sha256", clock(v["created_at"])] for v in views]
    console().print(fitted_table(f"models ({len(views)}; policy, value, top-1: on validation games)",
                                 ["id", "config", "status", "policy", "value", "top-1", "elo", "file", "created"],
                                 rows, flexible=("created",)))


@models_app.command("show")
def show(
    model_id: Annotated[str, typer.Argument(help="Model id or unique prefix.", show_default=False)],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """One model in full: status, lineage, metrics, Elo, the gate's evidence, file sha256."""
    from ..elo import config_ratings
    from ..errors import UserError
    from ..store.models import get_model

    with open_context(home) as ctx:
        model = get_model(ctx.store, model_id)
        if model is None:
            raise UserError(f"no model {model_id!r} (give a model id or a unique prefix; `ringrift models ls` lists them)")
        view = model_view(ctx, model, config_ratings(ctx.store, model.config_key))
    if json_output:
        print_json(view)
        return
    typer.echo(f"model {view['id']}\n  config {view['config_key']}, status {view['status']}"
               + (f" ({view['reason']})" if view["reason"] else ""))
    typer.echo(f"  file {view['path']} sha256 {view['sha256']} ({'ok' if view['file_ok'] else 'FAILS its checksum'})")
    typer.echo(f"  parent {view['parent_id'] or 'none'}, encoder version {view['encoder_version']}, elo {elo_text(view)}")
    lineage = view["lineage"]
    if lineage:
        typer.echo(f"  trained on {lineage.get('samples')} samples from {len(lineage.get('shards', []))} shard(s), "
                   f"{lineage.get('epochs_run')} epochs, hyperparameters {lineage.get('hyperparameters')}")
    typer.echo(f"  metrics {view['metrics']}")
    if view["evidence"]:
        typer.echo(f"  gate evidence {view['evidence']}")


def elo(
    config_key: Annotated[str, typer.Argument(help="Config key, e.g. hex8_2p.", show_default=False)],
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Ratings of every participant in the config's recorded matches: maximum-likelihood Bradley-Terry over all
    games (3-4 player orders split pairwise), random pinned at 400, 95% intervals."""
    from ..elo import config_ratings
    from ..store.models import list_models

    check_config_key(config_key)
    with open_context(home) as ctx:
        ratings = config_ratings(ctx.store, config_key)
        status = {m.id: m.status for m in list_models(ctx.store, config_key)}
    rows = [{"player": r.player, "status": status.get(r.player, "baseline" if r.player in ("random", "heuristic")
                                                      else "unknown"),
             "elo": r.elo, "low": r.low, "high": r.high, "games": r.games}
            for r in sorted(ratings.values(), key=lambda r: -r.elo)]
    if json_output:
        print_json({"config_key": config_key, "ratings": rows})
        return
    out = table(f"elo {config_key}", ["player", "status", "elo", "95% interval", "games"])
    for r in rows:
        out.add_row(r["player"][:12], r["status"], f"{r['elo']:.0f}", f"{r['low']:.0f} to {r['high']:.0f}",
                    str(r["games"]))
    console().print(out)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
    app.command("elo")(elo)
