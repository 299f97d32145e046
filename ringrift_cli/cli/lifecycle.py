"""The model lifecycle run by hand: ``ringrift train``, ``ringrift eval``, ``ringrift promote``.

Each checks its params as the job would, then creates a job row and runs it
here (heartbeating), exactly as a worker would.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..context import open_context
from ..keys import check_config_key
from .options import HomeOption, JsonOption, param_option
from .render import print_json
from .stages import ConfigKey, given, number_or_auto, run_stage


def checked(home, kind: str, config_key: str, params: dict, check) -> None:
    """Refuse bad params or inputs before any row is written (exit 2, one line, nothing changed)."""
    from ..stages.param_schema import check_params

    check_config_key(config_key)
    check_params(kind, params)
    with open_context(home) as ctx:
        check(ctx, config_key, params)


def train(
    config_key: ConfigKey,
    source: Annotated[Optional[str], param_option("train", "from", "--from")] = None,
    preset: Annotated[Optional[str], param_option("train", "preset", "--preset")] = None,
    epochs: Annotated[Optional[int], param_option("train", "epochs", "--epochs")] = None,
    batch: Annotated[Optional[int], param_option("train", "batch_size", "--batch")] = None,
    lr: Annotated[Optional[float], param_option("train", "lr", "--lr")] = None,
    max_samples: Annotated[Optional[int], param_option("train", "max_samples", "--max-samples")] = None,
    device: Annotated[Optional[str], param_option("train", "device", "--device")] = None,
    data_workers: Annotated[Optional[str], param_option("train", "data_workers", "--data-workers")] = None,
    seed: Annotated[Optional[int], param_option("train", "seed", "--seed")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train a candidate model on the newest samples of a config (a job row, run here)."""
    from ..stages.train import check_train_inputs

    params = given(**{"from": source}, preset=preset, epochs=epochs, batch_size=batch, lr=lr,
                   max_samples=max_samples, device=device, seed=seed,
                   data_workers=number_or_auto("train", "data_workers", data_workers))
    checked(home, "train", config_key, params, check_train_inputs)
    job, seconds = run_stage(home, "train", config_key, params, json_output, f"train {config_key}", "samples")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
        return
    m = result["metrics"]
    typer.echo(f"job {job.id}: model {result['model_id'][:12]} (candidate) from {result['samples']} samples, "
               f"{result['epochs']} epochs in {seconds:.1f}s -> {result['path']}")
    typer.echo(f"  train policy {m.get('train_policy_loss', 0):.3f} value {m.get('train_value_loss', 0):.3f} | "
               f"val policy {m.get('val_policy_loss', 0):.3f} value {m.get('val_value_loss', 0):.3f} "
               f"top-1 {m.get('val_top1', 0):.1%}")


def eval_command(
    config_key: ConfigKey,
    model: Annotated[Optional[str], param_option("eval", "model", "--model")] = None,
    opponents: Annotated[Optional[str], param_option("eval", "opponents", "--opponents")] = None,
    games: Annotated[Optional[int], param_option("eval", "games", "--games", "-n")] = None,
    sims: Annotated[Optional[int], param_option("eval", "sims", "--sims")] = None,
    parallel: Annotated[Optional[int], param_option("eval", "parallel", "--parallel")] = None,
    procs: Annotated[Optional[str], param_option("eval", "procs", "--procs")] = None,
    device: Annotated[Optional[str], param_option("eval", "device", "--device")] = None,
    seed: Annotated[Optional[int], param_option("eval", "seed", "--seed")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Play a model against each opponent, seats rotating; every game is recorded in matches (a job row, run here)."""
    from ..stages.eval import check_eval_inputs

    params = given(model=model, opponents=opponents, games=games, sims=sims, parallel=parallel,
                   procs=number_or_auto("eval", "procs", procs), device=device, seed=seed)
    checked(home, "eval", config_key, params, check_eval_inputs)
    job, seconds = run_stage(home, "eval", config_key, params, json_output, f"eval {config_key}", "games")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
        return
    typer.echo(f"job {job.id}: model {result['model_id'][:12]}, {result['games']} games in {seconds:.1f}s")
    for name, s in result["scores"].items():
        typer.echo(f"  vs {name[:12]:<12} {s['wins']}W {s['draws']}D {s['losses']}L  score {s['score']:.3f} "
                   f"(95% {s['low']:.3f}-{s['high']:.3f}) over {s['games']} games")


def promote(
    config_key: ConfigKey,
    model: Annotated[Optional[str], param_option("promote", "model", "--model")] = None,
    rollback: Annotated[bool, typer.Option("--rollback", help="Restore the best model the current best replaced "
                                           "(the current one is retired); plays no games.")] = False,
    sims: Annotated[Optional[int], param_option("promote", "sims", "--sims")] = None,
    parallel: Annotated[Optional[int], param_option("promote", "parallel", "--parallel")] = None,
    procs: Annotated[Optional[str], param_option("promote", "procs", "--procs")] = None,
    device: Annotated[Optional[str], param_option("promote", "device", "--device")] = None,
    seed: Annotated[Optional[int], param_option("promote", "seed", "--seed")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Apply the promotion gate to a candidate: floors against random and heuristic (over the games eval
    recorded, playing any still missing), then an SPRT against the best model (playing head-to-head games
    until it decides). Exit 0 when promoted, 1 when rejected."""
    from ..stages.promote import check_promote_inputs, rollback as roll_back

    if rollback:
        check_config_key(config_key)
        with open_context(home) as ctx:
            restored, demoted = roll_back(ctx, config_key)
        if json_output:
            print_json({"restored": restored.id, "retired": demoted.id})
        else:
            typer.echo(f"{config_key}: best is {restored.id[:12]} again; {demoted.id[:12]} retired")
        return
    params = given(model=model, sims=sims, parallel=parallel, procs=number_or_auto("promote", "procs", procs),
                   device=device, seed=seed)
    checked(home, "promote", config_key, params, check_promote_inputs)
    job, seconds = run_stage(home, "promote", config_key, params, json_output, f"promote {config_key}", "games")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
    else:
        typer.echo(f"job {job.id}: model {result['model_id'][:12]} {result['decision']}: {result['reason']}")
    if result["decision"] != "promoted":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("eval")(eval_command)
    app.command("promote")(promote)
