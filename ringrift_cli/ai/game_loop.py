"""Playing many games at once, every seat played by a side, each game recorded as it ends.

Selfplay and evaluation are the same loop with different sides: selfplay
seats one searched side at every seat (one tree, root noise and an early
temperature), evaluation seats several sides in rotation (each searched
side with its own tree and evaluator, no noise). All games in flight where
one side is to move are searched together, so a network side's leaves share
one evaluator call.

Game ``index`` is seeded by ``game_seed(base_seed, index)`` and plays the
same whatever else is in flight, so a caller that records each result as it
arrives resumes by passing only the indices still missing.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np

from ..game import GameState, Move, apply_move_inplace, board_for, final_ranks, initial_state, legal_moves
from ..game import move_to_json, state_to_json
from ..game.rules import parse_config_key
from ..store.game_records import GameRecord, MoveRecord
from .batch_search import pick_move, root_policy, search_positions
from .encoding import policy_target
from .evaluators import Evaluator
from .heuristic import terminal_values
from .mcts import Search

if TYPE_CHECKING:
    from .selfplay import SelfplaySettings


@dataclass(frozen=True)
class Side:
    """One player of a set of games: ``kind`` is ``search`` (with ``evaluator`` and ``settings``) or
    the name of a baseline player (``random``, ``heuristic``). ``name`` is how records name it."""

    name: str
    kind: str
    evaluator: Evaluator | None = None
    settings: SelfplaySettings | None = None


@dataclass(frozen=True)
class GameResult:
    """One finished game: ``players[s]`` is the index (in the list of sides) of the side at seat s+1.
    ``record`` holds its moves and targets when the games were played with recording on."""

    index: int
    seed: int
    players: tuple[int, ...]
    ranks: tuple[int, ...]  # per seat; a game stopped at the move cap ranks every seat 1 (a draw)
    moves: int
    capped: bool
    record: GameRecord | None = None

    def score_of(self, player: int) -> float:
        """1 for first alone, 0 for last alone, in between by the seats ranked below (ties half)."""
        seat = self.players.index(player)
        n = len(self.ranks)
        below = sum(rank > self.ranks[seat] for rank in self.ranks)
        tied = sum(rank == self.ranks[seat] for rank in self.ranks) - 1
        return (below + 0.5 * tied) / (n - 1)


@dataclass
class PlayTally:
    games: int = 0
    moves: int = 0
    evaluations: int = 0


@dataclass
class _Game:
    index: int
    seed: int
    players: tuple[int, ...]
    state: GameState
    searches: dict[int, Search]  # side index -> that side's tree (searched sides only)
    rng: np.random.Generator  # root noise and temperature
    baseline_rng: random.Random  # the baseline players' choices
    initial: dict | None
    moves: list[MoveRecord]
    plies: int = 0


def game_seed(base_seed: int, index: int) -> int:
    """A distinct, reproducible seed for game ``index`` of a run."""
    return (base_seed * 1_000_003 + index) % (2**63)


def game_finished(state: GameState) -> bool:
    return state.is_over() or state.ply >= state.params.move_cap


def seating(index: int, players: int) -> tuple[int, ...]:
    """The side index at each seat in game ``index`` (rotating by one seat per game), so over any n
    consecutive games every side has every seat once."""
    return tuple((seat - index) % players for seat in range(players))


def play_games(config_key: str, sides: list[Side], indices: Iterable[int], *, parallel: int, base_seed: int,
               record: bool = True, on_move: Callable[[PlayTally], None] = lambda tally: None,
               ) -> Iterator[GameResult]:
    """Play the games numbered ``indices``, ``parallel`` at a time; yield each result as it ends.

    One side plays every seat; several sides (one per seat) rotate seats game by game. ``indices``
    is drawn lazily (search processes take their next index from a shared counter)."""
    from .encoding import indices_for_moves  # the policy layout every record is written in

    seats = parse_config_key(config_key)[1]
    if len(sides) not in (1, seats):
        raise ValueError(f"{len(sides)} sides for {seats} seats")
    board = board_for(parse_config_key(config_key)[0])
    search_settings = {k: side.settings.search_settings(config_key) for k, side in enumerate(sides)
                       if side.kind == "search"}
    source = iter(indices)
    exhausted = False
    active: list[_Game] = []
    tally = PlayTally()

    def start_game(index: int) -> _Game:
        seed = game_seed(base_seed, index)
        state = initial_state(config_key)
        players = (0,) * seats if len(sides) == 1 else seating(index, seats)
        searches = {k: Search(state.copy(), search_settings[k], np.random.default_rng([seed, k + 1]))
                    for k in sorted(set(players)) if k in search_settings}
        return _Game(index, seed, players, state, searches, np.random.default_rng(seed), random.Random(seed),
                     state_to_json(state) if record else None, [])

    while True:
        while len(active) < parallel and not exhausted:
            index = next(source, None)
            if index is None:
                exhausted = True
            else:
                active.append(start_game(index))
        if not active:
            return
        to_search: dict[int, list[_Game]] = {}
        for game in active:
            side = game.players[game.state.current - 1]
            moves = legal_moves(game.state)
            if len(moves) > 1 and side in game.searches:
                to_search.setdefault(side, []).append(game)
                continue
            move = moves[0] if len(moves) == 1 else choose_baseline_move(sides[side], game, moves)
            if record:
                record_unsearched_move(game, move, board, indices_for_moves)
            play(game, move)
            tally.moves += 1
        for side, group in to_search.items():
            settings = sides[side].settings
            searches = [game.searches[side] for game in group]
            tally.evaluations += search_positions(searches, sides[side].evaluator, search_settings[side],
                                                  noise=[exploration(game, settings) for game in group])
            for game in group:
                play_searched_move(game, side, settings, board, indices_for_moves if record else None)
                tally.moves += 1
        finished = [game for game in active if game_finished(game.state)]
        for game in finished:
            active.remove(game)
            tally.games += 1
            yield finish(game, sides, record)
        on_move(tally)


def choose_baseline_move(side: Side, game: _Game, moves: list[Move]) -> Move:
    from .players import baseline_player

    return baseline_player(side.kind, game.baseline_rng).choose(game.state, moves)


def exploration(game: _Game, settings: SelfplaySettings) -> np.random.Generator | None:
    """The generator of a game's root noise this move, None for none: Dirichlet noise at every PUCT
    root (none at a zero fraction); Gumbel noise (which also picks the move played) during the first
    ``temperature_plies``, after which the Gumbel search plays its best move."""
    if settings.gumbel:
        return game.rng if game.state.ply < settings.temperature_plies else None
    return game.rng if settings.dirichlet_fraction > 0 else None


def play(game: _Game, move: Move, searched_by: int | None = None, chosen: int | None = None) -> None:
    """Play ``move`` in the game and in every tree (keeping the subtree it reached)."""
    apply_move_inplace(game.state, move, validate=False, undo=False)
    game.plies += 1
    for side, search in game.searches.items():
        root = search.root
        if side == searched_by:
            search.advance(chosen)
        elif root is not None and move in root.moves:
            search.advance(root.moves.index(move))
        else:
            apply_move_inplace(search.state, move, validate=False, undo=False)
            search.root = None


def record_unsearched_move(game: _Game, move: Move, board, indices_for_moves) -> None:
    """A forced move, or one a baseline player chose: recorded, but not as a search target."""
    state = game.state
    indices, probs = policy_target(indices_for_moves(state, [move]), [1.0])
    game.moves.append(MoveRecord(state.ply, state.current, move_to_json(move, board), indices, probs, None, False))


def play_searched_move(game: _Game, side: int, settings: SelfplaySettings, board, indices_for_moves) -> None:
    search = game.searches[side]
    state, root = search.state, search.root
    temperature = 1.0 if state.ply < settings.temperature_plies else 0.0
    chosen = pick_move(search, temperature, game.rng)
    if indices_for_moves is not None:
        # The target is the search's policy (improved policy or visit fractions), whatever is then played.
        indices, probs = policy_target(indices_for_moves(state, root.moves), root_policy(search))
        game.moves.append(MoveRecord(state.ply, state.current, move_to_json(root.moves[chosen], board), indices,
                                     probs, [float(v) for v in root.mean_values()], True))
    play(game, root.moves[chosen], side, chosen)


def finish(game: _Game, sides: list[Side], record: bool) -> GameResult:
    state = game.state
    capped = not state.is_over()
    ranks = [1] * state.n
    if not capped:
        for rank in final_ranks(state):
            ranks[rank.player - 1] = rank.rank
    return GameResult(game.index, game.seed, game.players, tuple(ranks), game.plies, capped,
                      game_record(game, sides) if record else None)


def game_record(game: _Game, sides: list[Side]) -> GameRecord:
    state = game.state
    if state.is_over():
        status, values = "completed", terminal_values(state)
    else:
        status, values = "capped", [0.0] * state.n
    if len(sides) == 1:
        model, settings = sides[0].name, asdict(sides[0].settings)
    else:  # a match: who sat where, and how each searched
        model = ",".join(sides[k].name for k in game.players)
        settings = {"players": [{"name": sides[k].name, "kind": sides[k].kind,
                                 **(asdict(sides[k].settings) if sides[k].settings else {})} for k in game.players]}
    return GameRecord(
        index=game.index, seed=game.seed, model=model, settings=settings, status=status,
        winner=state.winner or None, reason=state.victory_reason or ("move cap" if status == "capped" else ""),
        values=[float(v) for v in values], initial_state=game.initial,
        final_hash=f"{state.state_hash():016x}", moves=game.moves,
    )
