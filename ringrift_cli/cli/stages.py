"""The pipeline stages run by hand: ``ringrift selfplay``, ``ringrift export``.

Each creates a job row and runs it here (heartbeating), exactly as a worker
would; if this process dies the job goes back to the queue and its
finished work is kept.
"""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from ..context import open_context
from ..keys import check_config_key
from ..store.queue import JobSpec
from .options import HomeOption, JsonOption, param_option
from .render import print_json, progress_bar

ConfigKey = Annotated[str, typer.Argument(help="Config key, e.g. hex8_2p.", show_default=False)]


def run_stage(home, kind: str, config_key: str, params: dict, json_output: bool, label: str, unit: str):
    from ..stages.handlers import builtin_handlers
    from ..runner.worker import run_here

    from ..stages.param_schema import check_params

    check_config_key(config_key)
    check_params(kind, params)  # before the state file is opened: a typo costs nothing
    with open_context(home) as ctx, progress_bar(label, unit, enabled=not json_output) as progress:
        started = time.monotonic()
        job = run_here(ctx, JobSpec(kind=kind, config_key=config_key, params=params),
                       builtin_handlers()[kind], progress=progress)
    return job, time.monotonic() - started


def given(**values) -> dict:
    """The options the user typed (None means "not given": the job takes the schema's default)."""
    return {key: value for key, value in values.items() if value is not None}


def number_or_auto(kind: str, name: str, text: str | None):
    """An option such as ``--procs``: a whole number or ``auto``, read and checked by the job param
    ``name`` of ``kind``."""
    from ..stages.param_schema import param_for, parse_text

    return None if text is None else parse_text(kind, param_for(kind, name), text)


def selfplay(
    config_key: ConfigKey,
    games: Annotated[Optional[int], param_option("selfplay", "games", "--games", "-n")] = None,
    model: Annotated[Optional[str], param_option("selfplay", "model", "--model")] = None,
    sims: Annotated[Optional[int], param_option("selfplay", "sims", "--sims")] = None,
    parallel: Annotated[Optional[int], param_option("selfplay", "parallel", "--parallel")] = None,
    seed: Annotated[Optional[int], param_option("selfplay", "seed", "--seed")] = None,
    device: Annotated[Optional[str], param_option("selfplay", "device", "--device")] = None,
    procs: Annotated[Optional[str], param_option("selfplay", "procs", "--procs")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Play selfplay games and record them as one games shard (a job row, run here)."""
    params = given(games=games, model=model, sims=sims, parallel=parallel, seed=seed, device=device,
                   procs=number_or_auto("selfplay", "procs", procs))
    job, seconds = run_stage(home, "selfplay", config_key, params, json_output, f"selfplay {config_key}", "games")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
    else:
        typer.echo(f"job {job.id}: {result['games']} games, {result['moves']} moves in {seconds:.1f}s "
                   f"({result['moves'] / max(seconds, 1e-9):.0f} moves/s) -> {result['path']}")
        typer.echo(f"searched with {result['searched_with']}")


def export(
    config_key: ConfigKey,
    max_samples: Annotated[Optional[int], param_option("export", "max_samples", "--max-samples")] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Turn games not yet exported into validated NPZ training shards (a job row, run here)."""
    params = {} if max_samples is None else {"max_samples": max_samples}
    if nothing_to_export(home, config_key, params):
        if json_output:
            print_json({"job_id": None, "seconds": 0.0, "shards": [], "games_shards_read": 0, "samples": 0,
                        "set_aside": []})
        else:
            typer.echo(f"no new games to export for {config_key}; no job added")
        return
    job, seconds = run_stage(home, "export", config_key, params, json_output, f"export {config_key}", "games shards")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
        return
    for aside in result["set_aside"]:
        typer.echo(f"set aside {aside['path']} ({aside['flag']}): {aside['reason']}", err=True)
    if not result["shards"]:
        typer.echo(f"job {job.id}: no new games to export for {config_key}")
    else:
        for shard in result["shards"]:
            typer.echo(f"{shard['path']}: {shard['samples']} samples")
        typer.echo(f"job {job.id}: {result['samples']} samples from {result['games_shards_read']} games shard(s) in {seconds:.1f}s")


def nothing_to_export(home, config_key: str, params: dict) -> bool:
    """Whether no registered games shard is waiting (checked read-only: a no-op adds no job row)."""
    from ..stages.param_schema import check_params
    from ..store.artifacts import artifacts_not_yet_used

    check_config_key(config_key)
    check_params("export", params)
    with open_context(home, write=False) as ctx:
        return not artifacts_not_yet_used(ctx.store, config_key, "games", by_kind="npz")


def register(app: typer.Typer) -> None:
    app.command("selfplay")(selfplay)
    app.command("export")(export)
