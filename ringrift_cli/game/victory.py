"""Victory, stalemate, last-player-standing and final ranks (RULES.md 11).

``check_victory`` runs after every move (RULES.md 14 item 2), so a game
can end in the middle of a turn; the winner then becomes the current
player and the phase ``game_over``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .moves import GAME_OVER
from .placement import any_stack_can_act, can_place_on_bare_board, has_any_placement
from .state import ACTIVE, COMPLETED, GameState

RING_ELIMINATION = "ring_elimination"
TERRITORY_CONTROL = "territory_control"
LAST_PLAYER_STANDING = "last_player_standing"
STALEMATE = "game_completed"


def _finish(s: GameState, winner: int, reason: str) -> None:
    s.status = COMPLETED
    s.phase = GAME_OVER
    s.winner = winner
    s.victory_reason = reason
    if winner:
        s.current = winner


def note_permanent_eliminations(s: GameState) -> None:
    """Remember the turn in which each player lost their last ring."""
    for p in range(1, s.n + 1):
        if s.perm_elim[p] < 0 and s.hand[p] <= 0 and s.on_board[p] <= 0:
            s.perm_elim[p] = s.turn


def check_victory(s: GameState) -> bool:
    """Apply the first victory condition that holds; True if the game ended."""
    if s.status != ACTIVE:
        return True
    n = s.n
    # The max() tests only skip loops that cannot find a winner; this runs
    # after every move.
    threshold = s.params.victory_threshold
    if max(s.elim) >= threshold:
        for p in range(1, n + 1):
            if s.elim[p] >= threshold:
                _finish(s, p, RING_ELIMINATION)
                return True
    territory = s.territory
    minimum = s.params.territory_minimum
    if max(territory) >= minimum:
        total = sum(territory)
        for p in range(1, n + 1):
            if territory[p] >= minimum and territory[p] > total - territory[p]:
                _finish(s, p, TERRITORY_CONTROL)
                return True
    stacks_of = s.stacks_of
    with_stacks = [p for p in range(1, n + 1) if stacks_of[p]]
    if len(with_stacks) == 1:
        sole = with_stacks[0]
        if all(not s.has_rings_anywhere(q) for q in range(1, n + 1) if q != sole):
            _finish(s, sole, LAST_PLAYER_STANDING)
            return True
    if not with_stacks:
        holders = [p for p in range(1, n + 1) if s.hand[p] > 0]
        if not holders or not any(can_place_on_bare_board(s, p) for p in holders):
            _resolve_stalemate(s)
            return True
    return False


def _stalemate_key(s: GameState, p: int) -> tuple:
    # Rings still in hand count as eliminated for the tie-break (they are
    # not moved in the state: the reference keeps the counters as they are).
    return (s.territory[p], s.elim[p] + s.hand[p], s.marker_count[p], 1 if p == s.last_actor else 0, -p)


def _resolve_stalemate(s: GameState) -> None:
    best = max(range(1, s.n + 1), key=lambda p: _stalemate_key(s, p))
    _finish(s, best, STALEMATE)


def has_real_action(s: GameState, p: int) -> bool:
    """A legal placement, or a move or capture from any stack of ``p``
    (must-move restriction ignored). Recovery and decisions do not count."""
    if s.hand[p] > 0 and has_any_placement(s, p):
        return True
    return any_stack_can_act(s, p)


def update_lps_at_turn_start(s: GameState) -> None:
    """Round tracking and the last-player-standing victory, run when a
    turn starts after rotation (RULES.md 11.4)."""
    n = s.n
    participants = [p for p in range(1, n + 1) if s.has_rings_anywhere(p)]
    p = s.current
    mask = list(s.lps_mask)
    if s.lps_first == 0 or s.lps_first not in participants:
        s.lps_first = p
        mask = [-1] * (n + 1)
        if s.lps_excl not in participants:
            s.lps_excl = 0
            s.lps_count = 0
    elif p == s.lps_first and any(v >= 0 for v in mask):
        actors = [q for q in participants if mask[q] == 1]
        if len(actors) == 1:
            if actors[0] == s.lps_excl:
                s.lps_count += 1
            else:
                s.lps_excl = actors[0]
                s.lps_count = 1
        else:
            s.lps_excl = 0
            s.lps_count = 0
        mask = [-1] * (n + 1)
    acting = has_real_action(s, p)
    mask[p] = 1 if acting else 0
    s.lps_mask = tuple(mask)
    if (
        acting
        and s.lps_excl == p
        and s.lps_count >= s.options.lps_rounds
        and all(not has_real_action(s, q) for q in participants if q != p)
    ):
        _finish(s, p, LAST_PLAYER_STANDING)


@dataclass(frozen=True)
class Rank:
    player: int
    rank: int


def final_ranks(s: GameState) -> list:
    """Ranks of all players, best first (RULES.md 11.5). Exact ties share a
    rank and the next rank skips. Meaningful once the game is over; before
    that it ranks by the same tie-break keys."""

    hand_counts = s.victory_reason == STALEMATE

    def key(p: int) -> tuple:
        perm = s.perm_elim[p]
        return (
            1 if p == s.winner else 0,
            s.territory[p],
            s.elim[p] + (s.hand[p] if hand_counts else 0),
            s.marker_count[p],
            float("inf") if perm < 0 else perm,
        )

    order = sorted(range(1, s.n + 1), key=key, reverse=True)
    out = []
    for i, p in enumerate(order):
        if i and key(p) == key(order[i - 1]):
            out.append(Rank(p, out[-1].rank))
        else:
            out.append(Rank(p, i + 1))
    return out
