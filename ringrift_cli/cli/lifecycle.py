"""The model lifecycle run by hand: ``ringrift train``, ``ringrift eval``, ``ringrift promote``.

Each checks its params as the job would, then creates a job row and runs it
here (heartbeating), exactly as a worker would.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..context import open_context
from ..keys import check_config_key
from .options import HomeOption, JsonOption
from .render import print_json
from .stages import ConfigKey, run_stage

DeviceOption = Annotated[str, typer.Option(help="Torch device: auto (cuda when present), cpu or cuda.")]
SeedOption = Annotated[Optional[int], typer.Option(help="Seed. Default: derived from the job.", min=0, max=2**62)]


def checked(home, config_key: str, params: dict, check) -> None:
    """Refuse bad params or inputs before any row is written (exit 2, one line, nothing changed)."""
    check_config_key(config_key)
    with open_context(home) as ctx:
        check(ctx, config_key, params)


def given(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


def train(
    config_key: ConfigKey,
    source: Annotated[str, typer.Option("--from", help="best (warm-start from the best model; from scratch before "
                                        "one exists), scratch, or a model id.")] = "best",
    preset: Annotated[Optional[str], typer.Option(help="Network size from scratch: tiny, small, medium or large. "
                                                  "Default: the parent's, else small.")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="Most epochs. Default: setting train.epochs.")] = None,
    batch: Annotated[Optional[int], typer.Option(help="Batch size. Default: setting train.batch_size.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate. Default: setting train.lr.")] = None,
    max_samples: Annotated[Optional[int], typer.Option(help="Train on the newest N samples. Default: setting "
                                                       "train.window_samples.")] = None,
    device: DeviceOption = "auto",
    seed: SeedOption = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train a candidate model on the newest samples of a config (a job row, run here)."""
    from ..stages.train import check_train_inputs

    params = given(**{"from": source}, preset=preset, epochs=epochs, batch_size=batch, lr=lr,
                   max_samples=max_samples, device=device, seed=seed)
    checked(home, config_key, params, check_train_inputs)
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


def register(app: typer.Typer) -> None:
    app.command("train")(train)
