"""The working tree's player against the same player at another git revision, head to head.

    python benchmarks/versus_revision.py --rev REV [--config hex8_2p] [--player search:64] [--games 100]
                                         [--rev-player SPEC] [--seed 1] [--random-plies 4]

Both versions of the package are loaded in one process (the revision's under another name, from
``git archive``), each keeps its own copy of every game, and each move is passed between them as
JSON. Seats alternate; the first ``--random-plies`` moves of each game are drawn uniformly, so that
seeds give different games. Prints the working tree's score with a 95% interval: what an evaluator
or search change is worth against the code it replaces, whatever else it moves. Also prints each
side's CPU time per move it chose, so that ``--rev-player`` (the revision's player, by default the
same spec) can give the revision a larger budget and compare the two at equal cost.
"""

from __future__ import annotations

import argparse
import importlib
import io
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = "ringrift_base"


def load_revision(rev: str, into: Path) -> None:
    """Make ``ringrift_cli`` as it was at ``rev`` importable as the package ``ringrift_base``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "ringrift_cli"], capture_output=True)
    if archive.returncode:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    (into / "ringrift_cli").rename(into / BASE)
    sys.path.insert(0, str(into))


def modules(package: str) -> dict:
    names = ("game", "game.serialize", "ai.players", "ai.intervals")
    return {name: importlib.import_module(f"{package}.{name}") for name in names}


def play_one(sides: list[dict], players: list, config: str, rng: random.Random, random_plies: int,
             cost: dict) -> int:
    """One game, ``sides[i]`` the package of seat i+1; returns the winning seat (0 for none). Adds each
    side's CPU seconds and choices to ``cost[id(side)]``."""
    states = [side["game"].initial_state(config) for side in sides]
    while not states[0].is_over():
        seat = states[0].current
        side, state = sides[seat - 1], states[seat - 1]
        moves = side["game"].legal_moves(state)
        if states[0].ply < random_plies:
            move = moves[rng.randrange(len(moves))]
        else:
            began = time.process_time()
            move = players[seat - 1].choose(state, moves)
            spent = cost.setdefault(id(side), [0.0, 0])
            spent[0] += time.process_time() - began
            spent[1] += 1
        played = side["game.serialize"].move_to_json(move, state.board)
        for other, other_state in zip(sides, states):
            other["game"].apply_move_inplace(other_state, other["game.serialize"].move_from_json(played, other_state.board),
                                             validate=False, undo=False)
    return states[0].winner or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="git revision to play against, e.g. main or a commit")
    parser.add_argument("--config", default="hex8_2p", choices=["hex8_2p", "square8_2p"])
    parser.add_argument("--player", default="search:64", help="player spec of the working tree")
    parser.add_argument("--rev-player", help="player spec of the revision (default: --player)")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--random-plies", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        load_revision(args.rev, Path(tmp))
        new, old = modules("ringrift_cli"), modules(BASE)
        spec = {id(new): args.player, id(old): args.rev_player or args.player}
        points, cost = 0.0, {}
        for index in range(args.games):
            rng = random.Random(args.seed * 1_000_003 + index)
            sides = [new, old] if index % 2 == 0 else [old, new]
            players = [side["ai.players"].make_player(side["ai.players"].parse_player(spec[id(side)]),
                                                      random.Random(rng.random())) for side in sides]
            winner = play_one(sides, players, args.config, rng, args.random_plies, cost)
            points += 0.5 if winner == 0 else float(sides[winner - 1] is new)
        low, high = new["ai.intervals"].wilson_interval(points, args.games)
        print(f"{args.config} {spec[id(new)]}, working tree against {spec[id(old)]} at {args.rev}: {points:g} of "
              f"{args.games}, score {points / args.games:.3f} (95% {low:.2f}-{high:.2f})")
        per_move = {key: 1000 * seconds / max(moves, 1) for key, (seconds, moves) in cost.items()}
        print(f"CPU per move chosen: working tree {per_move.get(id(new), 0):.1f} ms, "
              f"{args.rev} {per_move.get(id(old), 0):.1f} ms")


if __name__ == "__main__":
    main()
