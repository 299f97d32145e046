"""``ringrift play`` and ``ringrift rules check``: the rules engine from the command line."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UserError
from .options import MAX_INT, HomeOption, JsonOption
from .render import print_json

rules_app = typer.Typer(help="Check game records against the rules engine.", no_args_is_help=True)

CHECK_OK, CHECK_DIVERGED, CHECK_UNREADABLE = 0, 1, 2


@rules_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="A contract-vector bundle, a golden game, JSON with initial_state and moves, or a games shard written by selfplay (every game is replayed).", show_default=False)],
    legacy_territory: Annotated[bool, typer.Option("--legacy-territory", help="Use floor(T/2)+1 as the territory minimum for every player count, as older 3-4 player records were played.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Replay FILE through the engine: exit 0 if it agrees to the end, 1 at the first divergence, 2 if unreadable."""
    from ..game import GameCheck, RulesOptions, UnreadableInputError, check_file, result_to_json

    options = RulesOptions(legacy_territory_threshold=legacy_territory)
    if is_games_shard(file):
        check_games_shard(file, json_output)
    try:
        result = check_file(file, options)
    except UnreadableInputError as exc:
        raise UserError(str(exc)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # The readers check a document's shape as they walk it; a field of the wrong type deep
        # inside surfaces as one of these. It is the file's fault, said in one line.
        raise UserError(f"{file}: not a document rules check can read "
                        f"({type(exc).__name__}: {str(exc)[:200]})") from None
    if json_output:
        payload = result_to_json(result)
        if not isinstance(result, GameCheck):
            payload = {"vectors": payload["vectors"]}
        print_json(payload)
    else:
        print_check(result)
    raise typer.Exit(CHECK_OK if result.ok else CHECK_DIVERGED)


SQLITE_HEADER = b"SQLite format 3\x00"


def is_games_shard(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False  # the JSON reader says what is wrong with the path


def check_games_shard(path: Path, json_output: bool) -> None:
    """Replay every game of a games shard to its recorded end: exit 0 if all agree, 1 if one does not."""
    from ..stages.export_samples import replay_mismatch
    from ..store.game_records import ShardFormatError, read_games

    try:
        meta, games = read_games(path)
    except ShardFormatError as exc:
        raise UserError(f"{path}: {exc}") from None
    verdicts = []
    for game in games:
        try:
            mismatch = replay_mismatch(game)
        except Exception as exc:  # an initial state the engine cannot load: the record's fault
            mismatch = f"cannot be replayed: {type(exc).__name__}: {str(exc)[:200]}"
        verdicts.append({"game": game.index, "moves": len(game.moves), "ok": mismatch is None, "detail": mismatch})
    ok = all(v["ok"] for v in verdicts)
    if json_output:
        print_json({"ok": ok, "config_key": meta.get("config_key"), "games": verdicts})
    else:
        for v in verdicts:
            typer.echo(f"{'ok  ' if v['ok'] else 'FAIL'} game {v['game']} ({v['moves']} moves)"
                       + ("" if v["ok"] else f": {v['detail']}"))
        typer.echo(f"{sum(v['ok'] for v in verdicts)}/{len(verdicts)} games replay to their recorded end")
    raise typer.Exit(CHECK_OK if ok else CHECK_DIVERGED)


def print_check(result) -> None:
    from ..game import GameCheck

    if isinstance(result, GameCheck):
        if result.ok:
            final = result.final
            typer.echo(f"ok: {len(result.plies)} plies agree; final status {final.status}, winner {final.winner}")
        else:
            d = result.divergence
            typer.echo(f"diverged at ply {d.ply}: {d.reason}")
            typer.echo(f"  move: {d.move}")
            if d.expected is not None or d.actual is not None:
                typer.echo(f"  expected: {d.expected}\n  actual:   {d.actual}")
        return
    for vector in result.vectors:
        typer.echo(f"{'ok  ' if vector.ok else 'FAIL'} {vector.id}" + ("" if vector.ok else f": {vector.detail}"))
    passed = sum(v.ok for v in result.vectors)
    typer.echo(f"{passed}/{len(result.vectors)} vectors agree")


PLAYERS_HELP = ("Comma-separated player per seat: random, heuristic, search:N (N simulations with the heuristic "
                "evaluator) or search:N:MODEL (a model id or file); searched players search the root as the "
                "data root's search.gumbel says. Default: random for every seat.")


def play(
    config_key: Annotated[str, typer.Argument(help="Config key, e.g. square8_2p.", show_default=False)],
    players: Annotated[Optional[str], typer.Option(help=PLAYERS_HELP, show_default=False)] = None,
    games: Annotated[Optional[int], typer.Option(help="Play a match of N games, seats rotating each game, and print "
                                                 "wins, draws, losses and score (95% interval) per player.",
                                                 min=1, max=100_000, show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed plays the same game(s).", min=0,
                                      max=MAX_INT)] = 0,
    opening_plies: Annotated[int, typer.Option(
        help="With --games: each searched player's first N moves are drawn in proportion to its search's "
             "visits, as in eval (setting eval.opening_plies). Players that break no ties at random, such as "
             "two networks, otherwise play the same game again for every seed.", min=0, max=10_000)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
    home: HomeOption = None,
    json_output: JsonOption = False,
) -> None:
    """Play a game between players, printing the board as it goes, or a match of --games N."""
    from ..ai.players import parse_players
    from ..keys import check_config_key

    check_config_key(config_key)
    seats = int(config_key.rsplit("_", 1)[1][:-1])
    specs = parse_players(players, seats) if players else parse_players(",".join(["random"] * seats), seats)
    load_model = model_loader(home, config_key)
    gumbel = root_search_setting(home) if any(spec.kind == "search" for spec in specs) else None
    if games is not None:
        play_match_summary(config_key, specs, games, seed, load_model, gumbel, json_output, opening_plies)
        return
    play_one(config_key, specs, seed, load_model, gumbel, quiet, json_output)


def root_search_setting(home) -> bool:
    """``search.gumbel`` of the data root when it has a state file (read-only), else the default:
    play needs no data root unless a player names a model."""
    from ..context import open_context
    from ..home import resolve_home
    from ..settings import default_of

    if not resolve_home(home).state_file.exists():
        return default_of("search.gumbel")
    with open_context(home, write=False) as ctx:
        return ctx.setting("search.gumbel")


def model_loader(home, config_key: str):
    """A function that opens the data home only when a player names a model."""
    def load(model: str):
        from ..context import open_context
        from ..stages.model_choice import load_evaluator, net_evaluator

        if Path(model).is_file():  # a model file needs no data home
            return net_evaluator(Path(model), config_key, "cpu")
        with open_context(home) as ctx:
            return load_evaluator(ctx, config_key, model)[0]

    return load


def play_one(config_key: str, specs, seed: int, load_model, gumbel: bool, quiet: bool, json_output: bool) -> None:
    from ..ai.players import make_player
    from ..game import GameError, play_game, render

    rng = random.Random(seed)
    chosen = [make_player(spec, rng, load_model, gumbel) for spec in specs]
    names = [spec.name for spec in specs]

    def show(move, state) -> None:
        typer.echo(f"\nply {state.ply}: player {move.player} {move.kind}")
        typer.echo(render(state))

    try:
        game = play_game(config_key, chosen, seed=seed, on_move=None if (quiet or json_output) else show)
    except GameError as exc:
        raise UserError(str(exc)) from None
    ranks = [{"player": r.player, "rank": r.rank, "name": names[r.player - 1]} for r in game.ranks]
    if json_output:
        print_json({"config_key": config_key, "seed": seed, "moves": len(game.moves), "capped": game.capped,
                    "winner": game.winner, "reason": game.state.victory_reason, "ranks": ranks})
        return
    ending = "stopped at the move cap" if game.capped else f"won by player {game.winner} ({game.state.victory_reason})"
    typer.echo(f"{config_key} seed {seed}: {len(game.moves)} moves, {ending}")
    typer.echo("ranks: " + ", ".join(f"{r['rank']}. player {r['player']} ({r['name']})" for r in ranks))


def play_match_summary(config_key: str, specs, games: int, seed: int, load_model, gumbel: bool,
                       json_output: bool, opening_plies: int) -> None:
    from ..ai.arena import play_match, summarize

    results = list(play_match(config_key, specs, games, base_seed=seed, load_model=load_model, gumbel=gumbel,
                              opening_plies=opening_plies))
    rows = summarize([spec.name for spec in specs], results)
    if json_output:
        print_json({"config_key": config_key, "seed": seed, "games": len(results),
                    "players": [{"name": r.name, "wins": r.wins, "draws": r.draws, "losses": r.losses,
                                 "score": round(r.score, 4), "ci95": [round(r.ci95[0], 4), round(r.ci95[1], 4)]}
                                for r in rows]})
        return
    typer.echo(f"{config_key}, {len(results)} games from seed {seed}, seats rotating:")
    for r in rows:
        typer.echo(f"  {r.name}: {r.wins} wins, {r.draws} draws, {r.losses} losses; "
                   f"score {r.score:.3f} (95% {r.ci95[0]:.3f}-{r.ci95[1]:.3f})")


def register(app: typer.Typer) -> None:
    app.command("play")(play)
    app.add_typer(rules_app, name="rules")
