"""Search quality: repeatable targets and playing strength of the searched player.

    python benchmarks/search_quality.py [--config hex8_2p] [--positions 60] [--sims 128]
                                        [--games 0] [--root gumbel|puct|both]

1. Agreement: two searches of the same non-forced position (noise off, each
   with its own tie-breaking draws) at ``--sims``: how often do they pick the
   same move? Target >= 70%.
2. First-move bias: how often the chosen move is the first generated legal
   move, against chance (the mean of 1 / legal moves). Target: no more than
   chance + 5 points.
3. With ``--games N``: search:64 vs heuristic, search:64 vs random and
   search:256 vs search:64 (N games each, seats alternating) through the
   arena. Targets: >= 60%, >= 97%, >= 55%.

Positions come from seeded games of the heuristic against random (every
fourth non-forced position), so they span placement, movement and captures.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from ringrift_cli.ai.arena import play_match, summarize  # noqa: E402
from ringrift_cli.ai.batch_search import pick_move, search_positions  # noqa: E402
from ringrift_cli.ai.evaluators import HeuristicEvaluator  # noqa: E402
from ringrift_cli.ai.heuristic import move_values  # noqa: E402
from ringrift_cli.ai.mcts import Search, SearchSettings  # noqa: E402
from ringrift_cli.ai.players import HeuristicPlayer, RandomPlayer, parse_player  # noqa: E402
from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves  # noqa: E402


def sample_positions(config_key: str, count: int, seed: int) -> list:
    rng = random.Random(seed)
    positions, game = [], 0
    while len(positions) < count:
        state = initial_state(config_key)
        players = [HeuristicPlayer(rng), RandomPlayer(rng)][:: 1 if game % 2 == 0 else -1]
        seen = 0
        while not state.is_over() and state.ply < state.params.move_cap and len(positions) < count:
            moves = legal_moves(state)
            if len(moves) > 1:
                seen += 1
                if seen % 4 == 0:
                    positions.append(state.copy())
            apply_move_inplace(state, players[(state.current - 1) % 2].choose(state, moves), validate=False,
                               undo=False)
        game += 1
    return positions


def chosen(state, settings: SearchSettings, seed: int) -> int:
    search = Search(state.copy(), settings, np.random.default_rng(seed))
    search_positions([search], HeuristicEvaluator(), settings)
    return pick_move(search, 0.0, np.random.default_rng(seed))


def repeatability(positions: list, simulations: int, gumbel: bool) -> dict:
    settings = SearchSettings(simulations=simulations, dirichlet_fraction=0.0, gumbel=gumbel)
    agree = tied = first = 0
    chance = 0.0
    for state in positions:
        a, b = chosen(state, settings, 1), chosen(state, settings, 2)
        agree += a == b
        if a != b:  # two moves the evaluator cannot tell apart one ply on (e.g. mirror-image placements)
            moves = legal_moves(state)
            values = move_values(state, [moves[a], moves[b]])
            tied += abs(values[0] - values[1]) < 1e-12
        first += a == 0
        chance += 1 / len(legal_moves(state))
    n = len(positions)
    return {"agreement": agree / n, "agreed": agree, "positions": n, "tied": tied / n, "first_move": first / n,
            "chance": chance / n}


def strength(config_key: str, games: int, gumbel: bool) -> list[tuple[str, float, tuple]]:
    rows = []
    for players, target in (("search:64,heuristic", 0.60), ("search:64,random", 0.97),
                            ("search:256,search:64", 0.55)):
        specs = [parse_player(name) for name in players.split(",")]
        results = list(play_match(config_key, specs, games, base_seed=7, gumbel=gumbel))
        row = summarize([s.name for s in specs], results)[0]
        rows.append((players, row.score, row.ci95, target))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="hex8_2p")
    parser.add_argument("--positions", type=int, default=60)
    parser.add_argument("--sims", type=int, default=128)
    parser.add_argument("--games", type=int, default=0)
    parser.add_argument("--root", choices=("gumbel", "puct", "both"), default="both")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    positions = sample_positions(args.config, args.positions, args.seed)
    roots = ("gumbel", "puct") if args.root == "both" else (args.root,)
    print(f"{args.config}: {len(positions)} non-forced positions, {args.sims} simulations, noise off")
    for root in roots:
        began = time.perf_counter()
        r = repeatability(positions, args.sims, root == "gumbel")
        print(f"  {root:6s} agreement {r['agreement']:.1%} ({r['agreed']} of {r['positions']}; target >= 70%; "
              f"another {r['tied']:.0%} chose two moves "
              f"of equal one-ply value); first generated move "
              f"{r['first_move']:.1%} vs chance {r['chance']:.1%} (target <= chance + 5 points) "
              f"[{time.perf_counter() - began:.0f}s]", flush=True)
    if args.games:
        for root in roots:
            for players, score, (low, high), target in strength(args.config, args.games, root == "gumbel"):
                mark = "ok" if score >= target else "MISSED"
                print(f"  {root:6s} {players}: {score:.3f} (95% {low:.3f}-{high:.3f}) over {args.games} games, "
                      f"target >= {target:.2f} {mark}", flush=True)


if __name__ == "__main__":
    main()
