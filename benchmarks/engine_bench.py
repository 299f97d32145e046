"""Engine speed: uniformly random whole games with fixed seeds.

    python benchmarks/engine_bench.py [--games N] [--quick]

For each configuration it plays games in one process and prints games/s,
moves applied/s (plies/s), legal-move generations/s, the mean game length
and branching factor, and the ratio to the reference Python engine's
plies/s measured the same way (random legal moves, whole games, one
process, 2 cores), with whether our target ratio is met.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves  # noqa: E402

# config: (reference plies/s, target ratio, default games)
CASES = {
    "square8_2p": (300, 20, 40),
    "square8_3p": (190, 20, 30),
    "square8_4p": (195, 20, 30),
    "hex8_2p": (207, 20, 30),
    "square19_2p": (69, 10, 4),
    "hexagonal_2p": (56, 10, 3),
}


def play_one(config: str, seed: int) -> tuple[int, int, int]:
    """Plays one game; returns (plies, legal-move generations, sum of list sizes)."""
    rng = random.Random(seed)
    s = initial_state(config)
    cap = s.params.move_cap
    plies = gens = total = 0
    while not s.is_over() and plies < cap:
        moves = legal_moves(s)
        gens += 1
        total += len(moves)
        apply_move_inplace(s, moves[rng.randrange(len(moves))], validate=False, undo=False)
        plies += 1
    return plies, gens, total


def bench(config: str, games: int) -> dict:
    plies = gens = total = 0
    start = time.perf_counter()
    for seed in range(games):
        p, g, t = play_one(config, seed)
        plies += p
        gens += g
        total += t
    elapsed = time.perf_counter() - start
    return {
        "config": config,
        "games": games,
        "seconds": elapsed,
        "games_per_s": games / elapsed,
        "plies_per_s": plies / elapsed,
        "gens_per_s": gens / elapsed,
        "mean_length": plies / games,
        "branching": total / max(gens, 1),
    }


def main(argv: list | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--games", type=int, default=0, help="games per configuration (default: per-board)")
    ap.add_argument("--quick", action="store_true", help="a quarter of the default games")
    ap.add_argument("--only", default="", help="comma-separated configs to run")
    args = ap.parse_args(argv)
    only = [c for c in args.only.split(",") if c]
    header = (
        f"{'config':<14}{'games':>6}{'games/s':>10}{'plies/s':>10}{'gens/s':>10}"
        f"{'len':>8}{'branch':>8}{'ref':>6}{'ratio':>8}{'target':>8}  met"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for config, (ref, target, default_games) in CASES.items():
        if only and config not in only:
            continue
        games = args.games or (max(1, default_games // 4) if args.quick else default_games)
        r = bench(config, games)
        ratio = r["plies_per_s"] / ref
        met = ratio >= target
        all_met &= met
        print(
            f"{config:<14}{games:>6}{r['games_per_s']:>10.2f}{r['plies_per_s']:>10.0f}{r['gens_per_s']:>10.0f}"
            f"{r['mean_length']:>8.0f}{r['branching']:>8.1f}{ref:>6}{ratio:>7.1f}x{target:>7}x  {'yes' if met else 'NO'}",
            flush=True,
        )
    print("all targets met" if all_met else "some targets NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
