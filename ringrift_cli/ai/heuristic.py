"""A hand-written position evaluator: per-seat values in [-1, 1] without a network.

It lets the loop bootstrap (selfplay before any model exists) and backs the
``heuristic`` baseline player. The score of a seat is its progress towards
the two ways of winning (eliminated rings towards the victory threshold,
territory towards the territory minimum) plus material that will matter
soon (rings it controls on the board, cap heights, rings in hand, markers),
compared with the best other seat.
"""

from __future__ import annotations

import math

from ..game import GameState, Move, apply_move_inplace, undo_move

# Weights of each feature, as fractions of its own winning threshold.
ELIMINATION_WEIGHT = 3.0
TERRITORY_WEIGHT = 3.0
CONTROL_WEIGHT = 1.0
HAND_WEIGHT = 0.4
MARKER_WEIGHT = 0.3
SCALE = 1.5  # tanh squashing: a lead of one full threshold is a near-certain win
# No unfinished position is worth a won game: below this, a search tells winning now from
# a lead that tanh has squashed to 1.0, and takes the win.
CEILING = 0.9


def seat_scores(state: GameState) -> list[float]:
    """Unsquashed progress score of seats 1..N (index 0 unused)."""
    params = state.params
    rings = params.rings_per_player
    cap, height = state.cap, state.height
    scores = [0.0]
    for seat in range(1, state.n + 1):
        controlled = sum(cap[cell] + 0.25 * (height[cell] - cap[cell]) for cell in state.stacks_of[seat])
        scores.append(
            ELIMINATION_WEIGHT * state.elim[seat] / params.victory_threshold
            + TERRITORY_WEIGHT * state.territory[seat] / params.territory_minimum
            + CONTROL_WEIGHT * controlled / rings
            + HAND_WEIGHT * state.hand[seat] / rings
            + MARKER_WEIGHT * state.marker_count[seat] / max(rings, 1)
        )
    return scores


def evaluate(state: GameState) -> list[float]:
    """Per-seat values (index 0 = seat 1), within +-CEILING; exact results (+-1) for finished games."""
    if state.is_over():
        return terminal_values(state)
    scores = seat_scores(state)
    values = []
    for seat in range(1, state.n + 1):
        best_other = max(scores[other] for other in range(1, state.n + 1) if other != seat)
        values.append(CEILING * math.tanh(SCALE * (scores[seat] - best_other)))
    return values


def terminal_values(state: GameState) -> list[float]:
    """Rank-linear values of a finished game: first +1, last -1, evenly spaced between."""
    from ..game import final_ranks

    ranks = {rank.player: rank.rank for rank in final_ranks(state)}
    if state.n == 1:
        return [1.0]
    return [1.0 - 2.0 * (ranks.get(seat, state.n) - 1) / (state.n - 1) for seat in range(1, state.n + 1)]


def move_values(state: GameState, moves: list[Move]) -> list[float]:
    """The mover's evaluation after each of ``moves`` (one ply); ``state`` is left as it was."""
    seat = state.current
    values = []
    for move in moves:
        token = apply_move_inplace(state, move, validate=False)
        values.append(evaluate(state)[seat - 1])
        undo_move(state, token)
    return values
