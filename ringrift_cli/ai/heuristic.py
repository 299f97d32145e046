"""A hand-written position evaluator: per-seat values in [-1, 1] without a network.

It lets the loop bootstrap (selfplay before any model exists) and backs the
``heuristic`` baseline player. The score of a seat is its progress towards
the two ways of winning (eliminated rings towards the victory threshold,
territory towards the territory minimum) plus material that will matter
soon (rings it controls on the board, cap heights, rings in hand, markers),
the rings of its colour still in play, and whether it can still act (the
last-player-standing rule), compared with the best other seat. Two things
about to happen are counted as done: a disconnected region the mover can
take, and the rings the mover owes after a line, a region or with no move.
"""

from __future__ import annotations

import math

from ..game import GameState, Move, apply_move_inplace, legal_moves, undo_move
from ..game.elimination import eliminate_cap
from ..game.moves import FORCED_ELIMINATION
from ..game.placement import stack_can_act
from ..game.territory import find_regions, process_region, processable_regions

# Weights of each feature, as fractions of its own winning threshold.
ELIMINATION_WEIGHT = 3.0
TERRITORY_WEIGHT = 3.0
CONTROL_WEIGHT = 1.0
HAND_WEIGHT = 0.4
MARKER_WEIGHT = 0.3
# Rings of the seat's colour not yet eliminated. Eliminations credit whoever makes them, own
# rings included: without this a searched player burnt its own caps for credit (+3h/18 for -h/18
# of control), ran out of stacks and rings in hand, and lost by last player standing with 16 of
# the 18 eliminations it needed (docs/benchmarks.md). At 2 an own cap given up is worth what its
# credit gains.
MATERIAL_WEIGHT = 2.0
# Stacks that can move or capture, up to MOBILE_FULL (a seat with rings in hand counts as fully
# mobile: it can place); none at all means no real action, the last-player-standing countdown.
MOBILITY_WEIGHT = 0.5
STUCK_WEIGHT = 1.5
MOBILE_FULL = 3
# tanh squashing. At 1.5 a lead of a third of a threshold was already worth 0.9 (the ceiling):
# the search saw every line of a long middle game as equally won and could not tell them apart.
SCALE = 0.75
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
            + MATERIAL_WEIGHT * (state.hand[seat] + state.on_board[seat]) / rings
            + mobility_score(state, seat)
        )
    return scores


def margin(scores: list[float], seat: int) -> float:
    """How far ``seat``'s score is ahead of the best other seat's (behind when negative)."""
    return scores[seat] - max(scores[other] for other in range(1, len(scores)) if other != seat)


def scores_with_best_region_taken(state: GameState, scores: list[float]) -> list[float]:
    """``scores`` after the mover takes the disconnected region that helps it most, if any does.

    A region on the board goes to the mover at the end of this turn (or is skipped). Left out of the
    score, a search saw nothing until the region was taken: a reply that cut off a dozen of its
    rings looked like any other, and so did its own moves that cut off the opponent's. The payment
    is one of the mover's smallest caps outside the region, the one that leaves it best placed."""
    mover = state.current
    best, best_margin = scores, margin(scores, mover)
    for region in processable_regions(state, mover, False):
        taken = state.copy()
        process_region(taken, mover, region)
        for paid in positions_after_smallest_cap_paid(taken, mover, region):
            taken_scores = seat_scores(paid)
            taken_margin = margin(taken_scores, mover)
            if taken_margin > best_margin:
                best, best_margin = taken_scores, taken_margin
    return best


def positions_after_smallest_cap_paid(state: GameState, seat: int, region: tuple) -> list[GameState]:
    """``state`` after ``seat`` gives up the cap of each of its stacks outside ``region`` whose cap is
    the smallest, in cell order (``state`` itself when it has none). Every such stack is tried: taking
    the first met was taking whichever the set of stacks listed first, which a copy of the same
    position lists in another order, so one position had two values."""
    outside = sorted(cell for cell in state.stacks_of[seat] if cell not in region)
    if not outside:
        return [state]
    smallest = min(state.cap[cell] for cell in outside)
    paid = []
    for cell in outside:
        if state.cap[cell] == smallest:
            after = state.copy()
            eliminate_cap(after, cell, seat)
            paid.append(after)
    return paid


def mobility_score(state: GameState, seat: int) -> float:
    """MOBILITY_WEIGHT for a seat that can place or move MOBILE_FULL stacks, less for fewer,
    STUCK_WEIGHT below nothing when it can do neither. Stacks are scanned only once the hand is
    empty: before that placing is a real action, and the scan (a ray walk per stack) would run for
    every move of every prior."""
    if state.hand[seat] > 0:
        return MOBILITY_WEIGHT
    height, cap = state.height, state.cap
    mobile = 0
    for cell in state.stacks_of[seat]:
        if stack_can_act(state, cell, height[cell], cap[cell]):
            mobile += 1
            if mobile >= MOBILE_FULL:
                break
    return MOBILITY_WEIGHT * mobile / MOBILE_FULL - (STUCK_WEIGHT if mobile == 0 else 0.0)


def evaluate(state: GameState) -> list[float]:
    """Per-seat values (index 0 = seat 1), within +-CEILING; exact results (+-1) for finished games."""
    if state.is_over():
        return terminal_values(state)
    if owes_elimination(state):
        return values_after_best_payment(state)
    scores = seat_scores(state)
    if find_regions(state) and not state.had_recovery:  # (a recovery turn pays for regions differently)
        scores = scores_with_best_region_taken(state, scores)
    return [CEILING * math.tanh(SCALE * margin(scores, seat)) for seat in range(1, state.n + 1)]


def owes_elimination(state: GameState) -> bool:
    """The mover must give up rings before anything else: after a line or a region, or with no move."""
    return bool(state.pending_terr or state.pending_line or state.phase == FORCED_ELIMINATION)


def values_after_best_payment(state: GameState) -> list[float]:
    """The values after the mover's best choice of what to give up. Scored as it stands, a position
    after a region choice looked free until the cap it cost was paid, and a search chose regions
    that cost it its last stack."""
    seat = state.current
    return max(values_after(state, legal_moves(state)), key=lambda values: values[seat - 1])


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
    return [values[seat - 1] for values in values_after(state, moves)]


def values_after(state: GameState, moves: list[Move]) -> list[list[float]]:
    """Every seat's evaluation after each of ``moves`` (one ply); ``state`` is left as it was."""
    out = []
    for move in moves:
        token = apply_move_inplace(state, move, validate=False)
        out.append(evaluate(state))
        undo_move(state, token)
    return out
