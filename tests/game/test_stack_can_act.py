"""``stack_can_act`` (the fast answer used by placement and turn skipping) agrees with the move generator."""

from __future__ import annotations

import random

from ringrift_cli.game import CONFIG_KEYS, apply_move, initial_state, legal_moves
from ringrift_cli.game.movement import stack_moves
from ringrift_cli.game.placement import stack_can_act


def test_stack_can_act_is_true_exactly_when_the_stack_has_a_move():
    outcomes = set()
    for config_key in CONFIG_KEYS[::2]:
        outcomes |= compare_along_random_games(config_key)
    assert outcomes == {True, False}  # both answers were checked, not only the common one


def compare_along_random_games(config_key: str) -> set[bool]:
    rng = random.Random(config_key)
    outcomes = set()
    for _ in range(2):
        state = initial_state(config_key)
        for _ in range(150):
            if state.is_over():
                break
            for player in range(1, state.n + 1):
                for cell in state.stacks_of[player]:
                    moves: list = []
                    stack_moves(state, cell, player, moves)
                    assert stack_can_act(state, cell, state.height[cell], state.cap[cell]) == bool(moves), (
                        config_key, state.ply, state.board.keys[cell])
                    outcomes.add(bool(moves))
            state = apply_move(state, rng.choice(legal_moves(state)))
    return outcomes
