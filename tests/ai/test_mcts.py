"""The search: batching, per-seat backup, noise and temperature."""

from __future__ import annotations

import numpy as np
import pytest

from ringrift_cli.ai import mcts
from ringrift_cli.ai.evaluators import HeuristicEvaluator
from ringrift_cli.ai.mcts import Search, SearchSettings, add_root_noise, choose_move, run_simulations
from ringrift_cli.game import initial_state, legal_moves


class CountingEvaluator:
    """Uniform priors and a fixed value vector; records batch sizes."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)
        self.batches = []

    def prepare(self, state, moves):
        return np.full(len(moves), 1 / len(moves))

    def run(self, items):
        self.batches.append(len(items))
        return [(priors, self.values) for priors in items]


def test_root_gets_exactly_the_requested_visits_and_state_is_restored():
    state = initial_state("square8_2p")
    before = state.state_hash()
    search = Search(state, SearchSettings())
    run_simulations([search], HeuristicEvaluator(), 50)
    assert search.root.total == 50 and search.root.visits.sum() == 49
    assert state.state_hash() == before and search.in_flight == 0


def test_per_seat_values_back_up_to_each_movers_own_seat():
    evaluator = CountingEvaluator([0.2, -0.6, 0.9])
    search = Search(initial_state("hex8_3p"), SearchSettings())
    run_simulations([search], evaluator, 600)
    root = search.root
    visited = root.visits > 0
    # The root mover is seat 1: its edges hold seat 1's value, whatever the others get.
    assert np.allclose(root.value_sums[visited] / root.visits[visited], 0.2)
    assert np.allclose(root.mean_values(), [0.2, -0.6, 0.9])
    child = next(c for c in root.children if c is not None and c.moves and c.visits.sum() > 0)
    seen = child.visits > 0
    assert np.allclose(child.value_sums[seen] / child.visits[seen], evaluator.values[child.mover - 1])


def test_many_games_share_batches_and_virtual_loss_fills_them():
    evaluator = CountingEvaluator([0.0, 0.0])
    searches = [Search(initial_state("square8_2p"), SearchSettings()) for _ in range(4)]
    run_simulations(searches, evaluator, 1)
    assert evaluator.batches == [4]
    evaluator.batches.clear()
    run_simulations(searches, evaluator, 33, batch_size=16)
    assert all(search.root.total == 33 for search in searches)
    assert max(evaluator.batches) == 16 and sum(evaluator.batches) == 4 * 32


def test_root_noise_changes_priors_but_keeps_a_distribution():
    search = Search(initial_state("square8_2p"), SearchSettings(dirichlet_fraction=0.25))
    evaluator = HeuristicEvaluator()
    run_simulations([search], evaluator, 1)
    before = search.root_priors(evaluator).copy()
    add_root_noise(search.root, search.settings, np.random.default_rng(1))
    assert not np.allclose(before, search.root.priors)
    assert abs(search.root.priors.sum() - 1) < 1e-9


def test_temperature_zero_takes_most_visited_and_one_samples():
    visits = np.array([1.0, 10.0, 3.0])
    rng = np.random.default_rng(0)
    assert {choose_move(visits, 0.0, rng) for _ in range(50)} == {1}
    picks = [choose_move(visits, 1.0, rng) for _ in range(400)]
    assert set(picks) == {0, 1, 2} and picks.count(1) > picks.count(2) > picks.count(0)


def test_search_prefers_a_winning_capture_over_heuristic_noise():
    # With enough visits the search concentrates on few moves: it is not uniform.
    state = initial_state("square8_2p")
    search = Search(state, SearchSettings())
    run_simulations([search], HeuristicEvaluator(), 200)
    visits = search.root.visits
    assert visits.max() > 3 * visits.mean()
    assert len(legal_moves(state)) == len(visits)


def test_overlapped_halves_reach_the_same_visit_counts():
    evaluator = CountingEvaluator([0.1, -0.1])
    searches = [Search(initial_state("hex8_2p"), SearchSettings()) for _ in range(6)]
    evaluations = run_simulations(searches, evaluator, 40, batch_size=8, overlap=True)
    assert all(s.root.total == 40 and s.in_flight == 0 for s in searches)
    assert evaluations == sum(evaluator.batches) == 6 * 40
    assert max(evaluator.batches) <= 8 + 2


def expanded_nodes(node):
    yield node
    for child in node.children:
        if child is not None and child.moves:
            yield from expanded_nodes(child)


def test_kept_exploration_and_value_vectors_equal_the_puct_formula_after_a_search():
    # The search keeps q and the exploration weight current edge by edge (visits, virtual
    # losses, backups, root noise); recomputed from the counts they must agree exactly.
    searches = [Search(initial_state(key), SearchSettings()) for key in ("square8_2p", "hex8_3p")]
    run_simulations(searches, HeuristicEvaluator(), 1)
    for search in searches:
        search.root_priors(HeuristicEvaluator())
        add_root_noise(search.root, search.settings, np.random.default_rng(2))
    run_simulations(searches, HeuristicEvaluator(), 60, batch_size=6)
    checked = 0
    for search in searches:
        c_puct = search.settings.c_puct
        for node in expanded_nodes(search.root):
            visits, sums = node.visits, node.value_sums
            seen = visits > 0
            assert np.array_equal(node.q[seen], sums[seen] / visits[seen])
            assert np.all(np.abs(node.q[~seen] - node.fpu) <= mcts.TIE_JITTER)
            for index, child in enumerate(node.children):
                assert visits[index] == (child.total if child is not None else 0)
            if node.priors is None:  # never descended through: its priors were never asked for
                assert visits.sum() == 0
                continue
            scores = c_puct * node.priors / (visits + 1.0) * np.sqrt(node.total + 1) + node.q
            assert Search.pick_child(node) == int(scores.argmax())
            checked += 1
    assert checked > 20


def test_results_do_not_depend_on_how_many_positions_the_search_keeps(monkeypatch):
    # Leaves start from the deepest position kept on their path; any start gives the same leaf.
    def search_with(kept_cells):
        monkeypatch.setattr(mcts, "KEPT_CELLS", kept_cells)
        searches = [Search(initial_state(key), SearchSettings()) for key in ("square8_2p", "hex8_3p")]
        run_simulations(searches, HeuristicEvaluator(), 50, batch_size=4)
        for search in searches:
            search.advance(int(search.root.visits.argmax()))
        run_simulations(searches, HeuristicEvaluator(), 80, batch_size=4)
        return [(s.root.visits.tolist(), s.root.value_sums.tolist(), s.root.mean_values().tolist()) for s in searches]

    assert search_with(0) == search_with(1 << 10) == search_with(1 << 30)


def position_with_one_winning_move():
    """A hex8_2p position (found by the first of some seeded games that has one) where exactly one
    of more than three moves wins at once."""
    import random

    from ringrift_cli.ai.players import HeuristicPlayer
    from ringrift_cli.game import apply_move_inplace, undo_move

    for seed in range(5, 25):
        state, rng = initial_state("hex8_2p"), random.Random(seed)
        player = HeuristicPlayer(rng)
        while not state.is_over():
            moves = legal_moves(state)
            if len(moves) > 3:
                wins = []
                for index, move in enumerate(moves):
                    token = apply_move_inplace(state, move, validate=False)
                    if state.is_over() and state.winner == move.player:
                        wins.append(index)
                    undo_move(state, token)
                if len(wins) == 1:
                    return state, moves[wins[0]]
            move = player.choose(state, moves) if rng.random() < 0.5 else moves[rng.randrange(len(moves))]
            apply_move_inplace(state, move, validate=False, undo=False)
    raise AssertionError("none of the seeded games has such a position")


@pytest.mark.parametrize("gumbel", [False, True])
def test_a_move_that_wins_at_once_is_found_at_any_simulation_count_and_any_place(monkeypatch, gumbel):
    from ringrift_cli.ai.batch_search import pick_move, search_positions

    state, winning = position_with_one_winning_move()
    generated = legal_moves(state)
    for shift in range(len(generated)):  # the winning move at every place in generation order
        def rotated(position, _shift=shift):
            moves = legal_moves(position)
            return moves[_shift:] + moves[:_shift] if position == state else moves

        monkeypatch.setattr(mcts, "legal_moves", rotated)
        for simulations in (1, 2, 3, 8, 64):
            settings = SearchSettings(simulations=simulations, gumbel=gumbel, dirichlet_fraction=0.0)
            search = Search(state.copy(), settings, np.random.default_rng(shift))
            search_positions([search], HeuristicEvaluator(), settings)
            best = pick_move(search, 0.0, np.random.default_rng(0))
            assert search.root.moves[best] == winning, (shift, simulations)


def test_equal_moves_are_tried_in_no_fixed_order():
    # Uniform priors and equal values: which move gets the first visit is left to chance.
    firsts = set()
    for seed in range(30):
        search = Search(initial_state("square8_2p"), SearchSettings(), np.random.default_rng(seed))
        run_simulations([search], CountingEvaluator([0.0, 0.0]), 2)
        firsts.add(int(search.root.visits.argmax()))
    assert len(firsts) > 15


def test_unvisited_siblings_are_not_starved_under_flat_priors():
    # With flat priors and near-equal values every move must get a look before any gets many.
    search = Search(initial_state("hex8_2p"), SearchSettings(), np.random.default_rng(3))
    run_simulations([search], CountingEvaluator([0.01, -0.01]), 129)
    visits = search.root.visits
    assert np.count_nonzero(visits) >= min(len(visits), 100)


def test_consecutive_moves_of_one_player_back_up_that_players_value():
    # In a turn a player moves several times in a row (place, then move): a child whose mover is
    # its parent's mover must hold the same seat's value, and the other seat's only where it moves.
    import random

    from ringrift_cli.game import apply_move_inplace

    state, rng = initial_state("square8_2p"), random.Random(4)
    for _ in range(30):  # into the game, where turns end within a few plies
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    evaluator = CountingEvaluator([0.3, -0.7])
    search = Search(state, SearchSettings(), np.random.default_rng(0))
    run_simulations([search], evaluator, 400)
    same = other = 0
    for node in expanded_nodes(search.root):
        for index, child in enumerate(node.children):
            if isinstance(child, mcts.Node) and child.moves and child.visits.sum() > 0:
                seen = child.visits > 0
                assert np.allclose(child.value_sums[seen] / child.visits[seen], evaluator.values[child.mover - 1])
                assert np.isclose(node.value_sums[index] / node.visits[index], evaluator.values[node.mover - 1])
                same += child.mover == node.mover
                other += child.mover != node.mover
    assert same and other


class RecordingEvaluator(CountingEvaluator):
    """Also records how many legal moves each evaluated position had."""

    def __init__(self, values):
        super().__init__(values)
        self.move_counts = []

    def prepare(self, state, moves):
        self.move_counts.append(len(moves))
        return super().prepare(state, moves)


def test_positions_with_one_legal_move_are_passed_through_without_an_evaluation():
    # Line and region steps with nothing to choose were half a search's positions, each costing a
    # simulation. They keep a node (the game passes through them) but only choices are evaluated.
    import random

    from ringrift_cli.game import apply_move_inplace

    state, rng = initial_state("hex8_2p"), random.Random(5)
    for _ in range(24):
        moves = legal_moves(state)
        apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
    assert len(legal_moves(state)) > 1
    evaluator = RecordingEvaluator([0.1, -0.1])
    search = Search(state, SearchSettings(), np.random.default_rng(0))
    run_simulations([search], evaluator, 200)
    assert len(evaluator.move_counts) <= 200 and min(evaluator.move_counts) > 1
    forced = [node for node in expanded_nodes(search.root) if len(node.moves) == 1]
    assert forced
    for node in forced:  # a node on the way: the visits and values of what follows it
        child = node.children[0]
        assert isinstance(child, mcts.Node) and node.counts[0] == child.total == node.total


class EagerHeuristic(HeuristicEvaluator):
    """The heuristic evaluator giving its priors with every evaluation, as it did before they were
    asked for only where a search descends."""

    def prepare(self, state, moves):
        return self.priors(state, moves), super().prepare(state, moves)[1]


@pytest.mark.parametrize("gumbel", [False, True])
def test_priors_asked_for_on_descent_give_the_search_of_priors_given_with_every_evaluation(gumbel):
    import random

    from ringrift_cli.ai.batch_search import search_positions
    from ringrift_cli.game import apply_move_inplace

    def searched(evaluator):
        state, rng = initial_state("hex8_2p"), random.Random(2)
        for _ in range(40):
            moves = legal_moves(state)
            apply_move_inplace(state, moves[rng.randrange(len(moves))], validate=False, undo=False)
        settings = SearchSettings(simulations=48, gumbel=gumbel, dirichlet_fraction=0.0)
        search = Search(state, settings, np.random.default_rng(1))
        found = []
        for _ in range(6):  # each search after the first reuses the subtree of the move played
            while not search.state.is_over() and len(legal_moves(search.state)) == 1:
                if search.root is not None:
                    search.advance(0)
                else:
                    apply_move_inplace(search.state, legal_moves(search.state)[0], validate=False, undo=False)
            if search.state.is_over():
                break
            search_positions([search], evaluator, settings)
            found.append((search.root.visits.tolist(), search.root.q.tolist()))
            search.advance(int(search.root.visits.argmax()))
        return found

    assert searched(HeuristicEvaluator()) == searched(EagerHeuristic())


def test_the_heuristic_prior_leans_to_open_cells_only_where_values_tie():
    from ringrift_cli.ai.evaluators import OPEN_CELL_LOGIT, cell_openness, heuristic_priors
    from ringrift_cli.ai.heuristic import move_values

    state = initial_state("hex8_2p")
    moves = legal_moves(state)
    values = move_values(state, moves)
    priors = heuristic_priors(state, moves, 0.05)
    openness = cell_openness("hex8")
    tied = same_count = 0
    for a in range(len(moves)):
        for b in range(len(moves)):
            if abs(values[a] - values[b]) < 1e-12 and openness[moves[a].to] > openness[moves[b].to]:
                tied += 1
                assert 1.0 < priors[a] / priors[b] <= np.exp(OPEN_CELL_LOGIT) + 1e-9
            elif values[a] > values[b] + 0.01:
                same_count += 1
                assert priors[a] > priors[b]
    assert tied > 100 and same_count > 100


@pytest.mark.parametrize("config_key", ["hex8_2p", "square8_2p"])
def test_searches_with_different_tie_breaking_draws_open_in_the_same_place(config_key):
    # Every placement on the empty board ties one ply on. Each search used to draw its candidates
    # among them at random; the prior's lean to open cells makes the searches agree on the centre
    # (on square8 one of the four centre cells, which the board's symmetries map onto each other).
    from ringrift_cli.ai.batch_search import pick_move, search_positions
    from ringrift_cli.ai.evaluators import cell_openness

    state = initial_state(config_key)
    settings = SearchSettings(simulations=32, dirichlet_fraction=0.0, gumbel=True)
    openness = cell_openness(state.board.board_type)
    for seed in range(1, 5):
        search = Search(state.copy(), settings, np.random.default_rng(seed))
        search_positions([search], HeuristicEvaluator(), settings)
        move = search.root.moves[pick_move(search, 0.0, np.random.default_rng(seed))]
        assert openness[move.to] == 1.0, (seed, move)


def test_openness_is_one_at_the_centre_least_in_the_corners_and_alike_on_symmetric_cells():
    from ringrift_cli.ai.evaluators import cell_openness
    from ringrift_cli.ai.symmetry import symmetries
    from ringrift_cli.game.boards import board_for

    for board_type, centre, corner in (("hex8", (0, 0, 0), (4, 0, -4)), ("square8", (3, 3), (0, 0))):
        board = board_for(board_type)
        openness = cell_openness(board_type)
        assert openness[board.cell_at(*centre)] == 1.0
        assert openness[board.cell_at(*corner)] == openness.min() < 0.8
        for symmetry in symmetries(board_type):
            assert all(openness[cell] == openness[symmetry.cells[cell]] for cell in range(board.cells))
