"""The pure maths of evaluation: Wilson intervals, Bradley-Terry ratings, the SPRT."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings, strategies as st

from ringrift_cli.ai.intervals import wilson_interval
from ringrift_cli.ai.ratings import ANCHOR_ELO, Game, fit_ratings, pairwise_results
from ringrift_cli.ai.sprt import SprtSettings, bounds, expected_score, log_likelihood_ratio, sprt


def two(a, b, a_wins: bool) -> Game:
    return Game((a, b), (1, 2) if a_wins else (2, 1))


# -- Wilson -------------------------------------------------------------------------------

def test_wilson_matches_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662 (method 3).
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # 15/148 -> 0.0624 to 0.1605 (same table).
    low, high = wilson_interval(15, 148)
    assert (round(low, 4), round(high, 4)) == (0.0624, 0.1605)


def test_wilson_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and round(high, 4) == 0.2775
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# -- Bradley-Terry -------------------------------------------------------------------------

def test_two_player_fit_matches_hand_computation():
    games = [two("A", "random", True)] * 3 + [two("A", "random", False)]
    r = fit_ratings(games, prior_draws=0)
    # p = 3/4 -> A - random = 400 log10(3).
    assert r["random"].elo == ANCHOR_ELO and r["random"].low == r["random"].high == ANCHOR_ELO
    assert r["A"].elo == pytest.approx(ANCHOR_ELO + 400 * math.log10(3), abs=1e-6)
    # Fisher information n p (1-p) = 4 * 3/16 = 0.75 nats^-2.
    half = 1.959963984540054 * math.sqrt(1 / 0.75) * 400 / math.log(10)
    assert r["A"].high - r["A"].elo == pytest.approx(half, abs=1e-6)
    assert r["A"].games == 4 and r["random"].games == 4


def test_chain_fit_and_prior():
    games = [two("A", "B", True)] * 2 + [two("A", "B", False)] + [two("B", "random", True)] * 2 + \
        [two("B", "random", False)]
    r = fit_ratings(games, prior_draws=0)
    step = 400 * math.log10(2)
    assert r["B"].elo == pytest.approx(ANCHOR_ELO + step, abs=1e-6)
    assert r["A"].elo == pytest.approx(ANCHOR_ELO + 2 * step, abs=1e-6)
    # An unbeaten record is finite with the prior: 20 wins + one virtual draw = 20.5/21.
    r = fit_ratings([two("A", "random", True)] * 20, prior_draws=1)
    assert r["A"].elo == pytest.approx(ANCHOR_ELO + 400 * math.log10(20.5 / 0.5), abs=1e-6)


def test_multiplayer_orders_split_pairwise_with_weight():
    pairs = pairwise_results(Game(("A", "B", "C"), (2, 1, 2)))
    assert sorted(pairs) == sorted([("A", "B", 0.0, 0.5), ("A", "C", 0.5, 0.5), ("B", "C", 1.0, 0.5)])
    # A game of a player against itself carries nothing.
    assert pairwise_results(Game(("A", "A"), (1, 2))) == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "heuristic"]), st.sampled_from(["B", "random", "heuristic"]),
                          st.booleans()), min_size=1, max_size=30), st.randoms())
def test_fit_does_not_depend_on_game_order(results, rnd):
    games = [two(a, b, w) for a, b, w in results if a != b]
    shuffled = list(games)
    rnd.shuffle(shuffled)
    first, second = fit_ratings(games), fit_ratings(shuffled)
    assert first.keys() == second.keys()
    for player in first:
        assert first[player].elo == pytest.approx(second[player].elo, abs=1e-6)


def test_stronger_record_rates_higher():
    games = [two("A", "random", i % 4 != 0) for i in range(40)] + [two("B", "random", i % 2 == 0) for i in range(40)]
    r = fit_ratings(games)
    assert r["A"].elo > r["B"].elo > r["random"].elo - 1e-9
    assert r["A"].low < r["A"].elo < r["A"].high


# -- SPRT ------------------------------------------------------------------------------------

def test_sprt_bounds_and_llr_by_hand():
    lower, upper = bounds(0.05, 0.05)
    assert upper == pytest.approx(math.log(19)) and lower == pytest.approx(-math.log(19))
    p0, p1 = 0.5, 1 / (1 + 10 ** (-50 / 400))
    assert expected_score(50) == pytest.approx(p1)
    assert log_likelihood_ratio(7, 10, 0, 50) == pytest.approx(7 * math.log(p1 / p0) + 3 * math.log((1 - p1) / (1 - p0)))


def test_sprt_decides_at_the_first_bound_crossed():
    s = SprtSettings(elo0=0, elo1=50, alpha=0.05, beta=0.05, max_games=1000)
    # Each win adds ln(p1/p0) = 0.1338...; ln(19) = 2.944 needs 23 straight wins.
    result = sprt([1.0] * 40, s)
    assert (result.decision, result.games) == ("pass", 23)
    # Each loss adds ln((1 - p1) / 0.5) = -0.1543...; -ln(19) needs 20 straight losses.
    result = sprt([0.0] * 40, s)
    assert (result.decision, result.games) == ("fail", 20)
    assert sprt([1.0, 0.0] * 5, s).decision == "continue"
    assert sprt([1.0, 0.0] * 5, SprtSettings(0, 50, 0.05, 0.05, max_games=10)).decision == "fail"


def test_sprt_fails_once_the_upper_bound_is_out_of_reach():
    s = SprtSettings(elo0=0, elo1=50, alpha=0.05, beta=0.05, max_games=30)
    # Win, loss, win, ...: after 7 games LLR 0.072 and 23 wins left could still add 3.08 (>= 2.944);
    # after 8, LLR -0.082 and 22 wins add only 2.94.
    result = sprt([1.0, 0.0] * 15, s)
    assert (result.decision, result.games, result.unreachable) == ("fail", 8, True)
    assert sprt([1.0, 0.0] * 3 + [1.0], s).decision == "continue"


def test_sprt_stopping_early_never_changes_the_decision():
    # Against the test without the early stop (every game up to max_games), on candidates near the bound.
    rng = random.Random(5)
    s = SprtSettings(elo0=0, elo1=50, alpha=0.05, beta=0.05, max_games=120)
    lower, upper = bounds(0.05, 0.05)
    early = 0
    for _ in range(300):
        scores = [float(rng.random() < 0.56) for _ in range(120)]
        full = "fail"
        for games in range(1, 121):
            llr = log_likelihood_ratio(sum(scores[:games]), games, 0, 50)
            if llr >= upper or llr <= lower:
                full = "pass" if llr >= upper else "fail"
                break
        result = sprt(scores, s)
        assert result.decision == full
        early += result.unreachable
    assert early > 50  # and the early stop happened often enough to matter


def test_sprt_rejects_bad_settings_and_scores():
    with pytest.raises(ValueError):
        SprtSettings(elo0=10, elo1=10, alpha=0.05, beta=0.05, max_games=10)
    with pytest.raises(ValueError):
        sprt([0.3], SprtSettings(0, 50, 0.05, 0.05, 10))


def test_sprt_type_one_error_near_alpha():
    # Equal players (p = 0.5): the test passes (falsely) at most about alpha of the time.
    rng = random.Random(3)
    s = SprtSettings(elo0=0, elo1=50, alpha=0.05, beta=0.05, max_games=3000)
    passes = sum(sprt([float(rng.random() < 0.5) for _ in range(3000)], s).decision == "pass" for _ in range(300))
    assert passes / 300 < 0.09


# -- the gate --------------------------------------------------------------------------------

from ringrift_cli.ai.gate import GateSettings, decide, game_score  # noqa: E402


def gate_settings(min_games=4, max_games=100):
    return GateSettings({"random": 0.75, "heuristic": 0.55}, min_games,
                        SprtSettings(elo0=0, elo1=50, alpha=0.05, beta=0.05, max_games=max_games))


def test_gate_asks_for_missing_baseline_games_then_applies_floors():
    games = [two("c", "random", True)] * 4
    d = decide("c", None, games, gate_settings())
    assert d.decision == "continue" and d.needed == {"heuristic": 4}
    d = decide("c", None, games + [two("heuristic", "c", i < 2) for i in range(4)], gate_settings())
    assert d.decision == "fail" and "heuristic" in d.reason and d.evidence["baselines"]["heuristic"]["score"] == 0.5
    # Decided early: after 2 losses in 4 needed games, 0.75 is out of reach whatever follows.
    d = decide("c", None, [two("c", "random", False)] * 2, gate_settings())
    assert d.decision == "fail" and "cannot reach" in d.reason
    assert decide("c", None, [two("c", "random", False)], gate_settings()).decision == "continue"
    d = decide("c", None, games + [two("heuristic", "c", i < 1) for i in range(4)], gate_settings())
    assert d.decision == "pass" and "no best" in d.reason


def test_gate_runs_the_sprt_against_the_best():
    base = [two("c", "random", True)] * 4 + [two("c", "heuristic", True)] * 4
    assert decide("c", "b", base, gate_settings()).needed == {"b": 1}
    d = decide("c", "b", base + [two("c", "b", True)] * 23, gate_settings())
    assert d.decision == "pass" and d.evidence["sprt"]["games"] == 23
    d = decide("c", "b", base + [two("b", "c", True)] * 30, gate_settings())
    assert d.decision == "fail" and d.evidence["sprt"]["games"] == 20


def test_multiplayer_game_score_is_mean_pairwise():
    assert game_score(Game(("c", "r", "r"), (2, 1, 3)), "c", "r") == 0.5
    assert game_score(Game(("c", "r"), (1, 2)), "c", "heuristic") is None
