"""Engine speed: uniformly random whole games with fixed seeds.

    python benchmarks/engine_bench.py [--games N] [--quick]

For each configuration it plays games in one process and prints games/s,
moves applied/s (plies/s), legal-move generations/s, the mean game length
and branching factor, and the ratio to the reference Python engine's
plies/s measured the same way (random legal moves, whole games, one
process, 2 cores), with whether our target ratio is met.

Times are CPU seconds of this process (``time.process_time``): the engine
is single-threaded, so on an idle machine they equal wall time, and on a
shared one they leave out the time other processes hold the cores.

Random games rarely reach recovery, so a last line times recovery alone:
legal-move generation and every slide applied and undone, in seeded random
3-4 player positions where the mover is eligible.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringrift_cli.game import apply_move_inplace, initial_state, legal_moves, undo_move  # noqa: E402
from ringrift_cli.game.positions import position  # noqa: E402

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
    start = time.process_time()
    for seed in range(games):
        p, g, t = play_one(config, seed)
        plies += p
        gens += g
        total += t
    elapsed = time.process_time() - start
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


def recovery_position(rng: random.Random):
    """A 3-4 player square8/hex8 position in ``movement`` where the mover
    controls no stack, owns markers and has a buried ring."""
    board = rng.choice(["square8", "hex8"])
    n = rng.choice([3, 4])
    mover = rng.randint(1, n)
    others = [q for q in range(1, n + 1) if q != mover]
    keys = position(board, n).board.keys
    cells = rng.sample(keys, rng.randint(8, 24))
    k = rng.randint(2, len(cells) // 3)
    stacks = {}
    for key in cells[:k]:
        stacks[key] = [rng.randint(1, n) for _ in range(rng.randint(0, 3))] + [rng.choice(others)]
    stacks[cells[0]][0:0] = [mover]
    markers = {key: rng.randint(1, n) for key in cells[k:]}
    markers.update({key: mover for key in cells[k : k + rng.randint(1, 6)]})
    return position(board, n, stacks=stacks, markers=markers, hands={mover: 0}, current=mover, phase="movement")


def bench_recovery(positions: int, rounds: int = 20) -> dict:
    rng = random.Random(12)
    states = [recovery_position(rng) for _ in range(positions)]
    start = time.process_time()
    for _ in range(rounds):
        for s in states:
            legal_moves(s)
    gen_time = time.process_time() - start
    lists = [legal_moves(s) for s in states]
    start = time.process_time()
    for _ in range(rounds):
        for s, moves in zip(states, lists):
            for m in moves:
                undo_move(s, apply_move_inplace(s, m, validate=False))
    apply_time = time.process_time() - start
    applied = rounds * sum(map(len, lists))
    return {
        "gens_per_s": rounds * positions / gen_time,
        "applied_per_s": applied / apply_time,
        "branching": applied / (rounds * positions),
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
    if not only or "recovery" in only:
        r = bench_recovery(max(10, 100 // 4) if args.quick else 100)
        print(
            f"recovery 3-4p: {r['gens_per_s']:.0f} legal-move gens/s,"
            f" {r['applied_per_s']:.0f} moves applied+undone/s, {r['branching']:.1f} moves per position"
        )
    print("all targets met" if all_met else "some targets NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
