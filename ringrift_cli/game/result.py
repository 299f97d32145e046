"""Whether and how a game ended."""

from __future__ import annotations

from dataclasses import dataclass

from .state import ACTIVE, GameState
from .victory import final_ranks


@dataclass(frozen=True)
class GameResult:
    """``over`` is False while the game is active (then ``winner`` and
    ``reason`` are None). ``reason`` is one of ``ring_elimination``,
    ``territory_control``, ``last_player_standing``, ``game_completed``
    (bare-board stalemate), ``resignation``, ``timeout``. ``ranks`` maps
    each player to their final rank (1 = best; ties share a rank)."""

    over: bool
    winner: int | None
    reason: str | None
    ranks: dict


def game_result(state: GameState) -> GameResult:
    if state.status == ACTIVE:
        return GameResult(False, None, None, {})
    ranks = {r.player: r.rank for r in final_ranks(state)}
    return GameResult(True, state.winner or None, state.victory_reason or None, ranks)


def is_game_over(state: GameState) -> bool:
    return state.status != ACTIVE
