"""Properties that must hold in every game: random playouts on every board
and player count, driven by hypothesis-chosen seeds.

The big boards get fewer examples and shorter prefixes so that the whole
engine suite stays fast.
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringrift_cli.game import (
    CONFIG_KEYS,
    apply_move,
    apply_move_inplace,
    initial_state,
    legal_moves,
    move_from_json,
    move_to_json,
    state_from_json,
    state_to_json,
    undo_move,
)
from ringrift_cli.game.legal import match_legal

SMALL = [k for k in CONFIG_KEYS if k.startswith(("square8", "hex8"))]
BIG = [k for k in CONFIG_KEYS if k.startswith(("square19", "hexagonal"))]

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def ring_total(s) -> int:
    return sum(s.hand) + sum(s.on_board) + s.total_elim


def playout(config: str, seed: int, max_plies: int, each=None):
    """Random game; ``each(state, legal, move)`` runs before every move."""
    rng = random.Random(seed)
    s = initial_state(config)
    start_total = ring_total(s)
    plies = 0
    while not s.is_over() and plies < max_plies:
        legal = legal_moves(s)
        assert legal, f"no legal move in active state {s!r}"
        move = legal[rng.randrange(len(legal))]
        if each is not None:
            each(s, legal, move)
        apply_move_inplace(s, move, validate=False, undo=False)
        assert ring_total(s) == start_total, f"rings not conserved after {move}"
        plies += 1
    return s, plies


def _deep_checks(s, legal, move):
    # Every listed move is recognised as legal and applies without error.
    for m in legal:
        assert match_legal(s, m, legal) == m
    after = apply_move(s, move)
    # In-place apply + undo restores the exact state and hash.
    before_hash = s.state_hash()
    copy = s.copy()
    token = apply_move_inplace(s, move)
    assert s == after and s.state_hash() == after.state_hash()
    undo_move(s, token)
    assert s == copy and s.state_hash() == before_hash
    # Serialization round-trips states and moves.
    doc = json.loads(json.dumps(state_to_json(s)))
    back = state_from_json(doc)
    assert back == s and back.state_hash() == s.state_hash()
    assert move_from_json(json.loads(json.dumps(move_to_json(move, s.board))), s.board) == move


@pytest.mark.parametrize("config", SMALL)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds)
def test_small_board_playouts_keep_every_invariant(config, seed):
    playout(config, seed, max_plies=400, each=_deep_checks)


@pytest.mark.parametrize("config", BIG)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=seeds)
def test_big_board_playout_prefixes_keep_every_invariant(config, seed):
    # Checking every move deeply is costly here; check one move in five.
    counter = {"n": 0}

    def sometimes(s, legal, move):
        counter["n"] += 1
        if counter["n"] % 5 == 0:
            _deep_checks(s, legal, move)

    playout(config, seed, max_plies=120, each=sometimes)


@pytest.mark.parametrize("config", SMALL)
@settings(max_examples=6, deadline=None)
@given(seed=seeds)
def test_small_board_games_end_within_the_move_cap(config, seed):
    s, plies = playout(config, seed, max_plies=100_000)
    assert s.is_over()
    assert plies <= s.params.move_cap


@pytest.mark.parametrize("config", BIG)
@settings(max_examples=1, deadline=None)
@given(seed=seeds)
def test_big_board_games_end_within_the_move_cap(config, seed):
    s, plies = playout(config, seed, max_plies=100_000)
    assert s.is_over()
    assert plies <= s.params.move_cap


@settings(max_examples=10, deadline=None)
@given(seed=seeds, config=st.sampled_from(SMALL))
def test_equal_states_reached_by_different_paths_hash_equal(seed, config):
    # Replaying the same moves onto a fresh start gives an equal state with
    # an equal hash, and copies hash like their originals.
    rng = random.Random(seed)
    s = initial_state(config)
    moves = []
    for _ in range(rng.randrange(1, 60)):
        if s.is_over():
            break
        m = rng.choice(legal_moves(s))
        moves.append(m)
        s = apply_move(s, m)
    t = initial_state(config)
    for m in moves:
        apply_move_inplace(t, m, undo=False)
    assert t == s and t.state_hash() == s.state_hash()
    assert s.copy().state_hash() == s.state_hash()


@settings(max_examples=10, deadline=None)
@given(seed=seeds, config=st.sampled_from(SMALL))
def test_a_sequence_of_undos_restores_the_start(seed, config):
    rng = random.Random(seed)
    s = initial_state(config)
    start = s.copy()
    tokens = []
    for _ in range(rng.randrange(1, 80)):
        if s.is_over():
            break
        tokens.append(apply_move_inplace(s, rng.choice(legal_moves(s))))
    for token in reversed(tokens):
        undo_move(s, token)
    assert s == start and s.state_hash() == start.state_hash()
