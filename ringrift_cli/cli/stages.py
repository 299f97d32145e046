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
from ..stages.params import SELFPLAY_DEFAULTS
from ..store.queue import JobSpec
from .options import HomeOption, JsonOption
from .render import print_json, progress_bar

ConfigKey = Annotated[str, typer.Argument(help="Config key, e.g. hex8_2p.", show_default=False)]


def run_stage(home, kind: str, config_key: str, params: dict, json_output: bool, label: str, unit: str):
    from ..stages.handlers import builtin_handlers
    from ..stages.worker import run_here

    check_config_key(config_key)
    with open_context(home) as ctx, progress_bar(label, unit, enabled=not json_output) as progress:
        started = time.monotonic()
        job = run_here(ctx, JobSpec(kind=kind, config_key=config_key, params=params),
                       builtin_handlers()[kind], progress=progress)
    return job, time.monotonic() - started


def selfplay(
    config_key: ConfigKey,
    games: Annotated[int, typer.Option("--games", "-n", help="Games to play.", min=1)] = SELFPLAY_DEFAULTS["games"],
    model: Annotated[str, typer.Option(help="best (the promoted model; the heuristic before one exists), none or heuristic, random, a model id, or a model file.")] = SELFPLAY_DEFAULTS["model"],
    sims: Annotated[Optional[int], typer.Option("--sims", help="Search simulations per move. Default: setting selfplay.simulations.", min=1)] = None,
    parallel: Annotated[Optional[int], typer.Option(help="Games played at once by each search process (their searches share network calls). Default: setting selfplay.parallel_games.", min=1)] = None,
    seed: Annotated[Optional[int], typer.Option(help="Base seed; game i uses a seed derived from it and i. Default: derived from the job, so every job plays different games.", min=0, max=2**62)] = SELFPLAY_DEFAULTS["seed"],
    device: Annotated[str, typer.Option(help="Torch device for the network, e.g. cpu or cuda.")] = SELFPLAY_DEFAULTS["device"],
    procs: Annotated[Optional[int], typer.Option(help="Search processes, each playing --parallel games at once (on an accelerator they share the network through one batching process). Default: setting selfplay.procs (auto: the host's usable cores).", min=1, max=1024)] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Play selfplay games and record them as one games shard (a job row, run here)."""
    params = {"games": games, "model": model, "device": device}
    if seed is not None:
        params["seed"] = seed
    if sims is not None:
        params["simulations"] = sims
    if parallel is not None:
        params["parallel"] = parallel
    if procs is not None:
        params["procs"] = procs
    job, seconds = run_stage(home, "selfplay", config_key, params, json_output, f"selfplay {config_key}", "games")
    result = job.result
    if json_output:
        print_json({"job_id": job.id, "seconds": round(seconds, 2), **result})
    else:
        typer.echo(f"job {job.id}: {result['games']} games, {result['moves']} moves in {seconds:.1f}s "
                   f"({result['moves'] / max(seconds, 1e-9):.0f} moves/s) -> {result['path']}")


def export(
    config_key: ConfigKey,
    max_samples: Annotated[Optional[int], typer.Option(help="Most samples per NPZ shard. Default: setting export.max_samples.", min=1)] = None,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Turn games not yet exported into validated NPZ training shards (a job row, run here)."""
    params = {} if max_samples is None else {"max_samples": max_samples}
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


def register(app: typer.Typer) -> None:
    app.command("selfplay")(selfplay)
    app.command("export")(export)
