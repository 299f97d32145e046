"""PUCT search with per-seat values, run for many games at once.

Each node keeps, for its legal moves, the prior, visit count and summed
value *for the seat to move at that node*; a leaf's evaluation is a value
per seat, so 3- and 4-player games back up each seat's own outlook rather
than a two-player "negate on the way up".

``Search`` is one game's tree. ``run_simulations`` advances many searches
together: every round each search descends to one leaf, all leaves are
evaluated in one batch (one network call), then each search expands and
backs up. Root noise (Dirichlet) and move temperature are applied by the
caller through ``add_root_noise`` and ``choose_move``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..game import GameState, Move, apply_move_inplace, legal_moves, undo_move
from .evaluators import Evaluator
from .heuristic import terminal_values


@dataclass(frozen=True)
class SearchSettings:
    simulations: int = 128
    c_puct: float = 1.5
    # An unvisited move starts at the parent's value minus this (first-play urgency).
    fpu_reduction: float = 0.2
    dirichlet_alpha: float = 0.3
    dirichlet_fraction: float = 0.25


# Dirichlet alpha per board, scaled to the typical number of legal moves.
DIRICHLET_ALPHA = {"square8": 0.3, "square19": 0.15, "hex8": 0.2, "hexagonal": 0.15}


class Node:
    """One expanded position: per legal move, its prior, visit count and value sum for ``mover``.

    ``visits``, ``value_sums`` and ``mean_values()`` are what callers read. Inside, the
    per-visit updates (several per edge of every descent) work on Python floats, which
    cost a fraction of numpy's scalar indexing; only the two vectors that picking a child
    combines are numpy arrays, each kept current edge by edge:
    ``q`` (mean value, or the first-play value while unvisited) and ``u`` (the
    exploration weight c_puct * prior / (visits + 1)).
    """

    __slots__ = ("mover", "moves", "priors", "scaled", "counts", "sums", "q", "u", "fpu", "children",
                 "terminal", "seat_sums", "total")

    def __init__(self, mover: int, moves: list[Move] | None, priors: np.ndarray | None,
                 terminal: np.ndarray | None = None, first_play: float = 0.0, c_puct: float = 1.0):
        self.mover = mover
        self.moves = moves
        count = len(moves) if moves else 0
        self.priors = priors
        self.counts = [0.0] * count
        self.sums = [0.0] * count
        self.fpu = first_play
        self.q = np.full(count, first_play, dtype=np.float64)
        if priors is not None:
            scaled = c_puct * priors
            self.scaled = scaled.tolist()
            self.u = np.asarray(scaled, dtype=np.float64)  # scaled / (0 visits + 1), the same bits
        else:
            self.u = np.zeros(count)
            self.scaled = [0.0] * count
        self.children: list = [None] * count
        self.terminal = terminal  # per-seat values when the game is over here
        self.seat_sums: list | None = None
        self.total = 0

    @property
    def visits(self) -> np.ndarray:
        """Visits per move (those in flight included)."""
        return np.array(self.counts, dtype=np.float64)

    @property
    def value_sums(self) -> np.ndarray:
        """Summed value per move for the mover."""
        return np.array(self.sums, dtype=np.float64)

    @property
    def seat_value_sum(self) -> np.ndarray | None:
        return None if self.seat_sums is None else np.array(self.seat_sums, dtype=np.float64)

    def set_priors(self, priors: np.ndarray, c_puct: float) -> None:
        self.priors = priors
        scaled = c_puct * priors
        self.scaled = scaled.tolist()
        self.u = scaled / (self.visits + 1.0)

    def visit_edge(self, index: int, value: float, count: int = 1) -> None:
        visits = self.counts[index] + count
        self.counts[index] = visits
        total = self.sums[index] + value
        self.sums[index] = total
        self.q[index] = total / visits if visits > 0 else self.fpu
        self.u[index] = self.scaled[index] / (visits + 1.0)

    def add_value(self, values) -> None:
        self.total += 1
        sums = self.seat_sums
        self.seat_sums = list(values) if sums is None else [a + b for a, b in zip(sums, values)]

    def mean_values(self) -> np.ndarray:
        return np.array(self.seat_sums, dtype=np.float64) / self.total


# Marks a child whose first evaluation is in flight, so a second descent in the same batch stops short of it.
PENDING = object()
VIRTUAL_LOSS = 1.0


@dataclass
class Ticket:
    """One descent awaiting its evaluation: the edges walked and what to attach at the end."""

    path: list  # (node, child index) from the root down
    expand: tuple | None  # (mover, moves) of a new leaf to expand with the evaluation
    values: np.ndarray | None  # known values (terminal leaf) or None until evaluated


class Search:
    """The search tree of one game; ``state`` is that game's live position (restored after each descent).

    Several descents may be in flight at once: each puts a virtual loss on
    the edges it walked, so the next one explores elsewhere, and removes it
    when its evaluation is backed up.
    """

    def __init__(self, state: GameState, settings: SearchSettings):
        self.state = state
        self.settings = settings
        self.root: Node | None = None
        self.in_flight = 0

    def visits(self) -> int:
        """Root visits, those in flight included (virtual visits count at the root too)."""
        return self.root.total if self.root is not None else self.in_flight

    # -- descent -----------------------------------------------------------

    def select_leaf(self, evaluator: Evaluator) -> tuple[Ticket, object] | None:
        """Walk to a leaf, prepare its evaluation, restore the state.

        Returns (ticket, evaluator item or None for a known value), or None
        when the walk ran into a leaf already in flight (nothing to do now).
        """
        if self.root is None:
            if self.in_flight:
                return None
            return self.open_leaf([], [], evaluator)
        state = self.state
        path: list[tuple[Node, int]] = []
        undo_tokens = []
        node = self.root
        sqrt = math.sqrt
        while True:
            # pick_child, inlined: this loop runs for every edge of every descent.
            scores = node.u * sqrt(node.total + 1)
            scores += node.q
            index = int(scores.argmax())
            path.append((node, index))
            child = node.children[index]
            if child is PENDING:
                self.unwind(undo_tokens)
                return None
            undo_tokens.append(apply_move_inplace(state, node.moves[index], validate=False))
            if child is None or child.terminal is not None:
                break
            node = child
        if child is not None:  # a terminal node met before
            ticket = Ticket(path, None, child.terminal)
            self.apply_virtual_loss(path)
            self.unwind(undo_tokens)
            return ticket, None
        return self.open_leaf(path, undo_tokens, evaluator)

    def open_leaf(self, path: list, undo_tokens: list, evaluator: Evaluator) -> tuple[Ticket, object]:
        state = self.state
        if state.is_over():
            ticket, item = Ticket(path, (0, None), terminal_values_array(state)), None
        else:
            moves = legal_moves(state)
            ticket, item = Ticket(path, (state.current, moves), None), evaluator.prepare(state, moves)
            if path:
                parent, index = path[-1]
                parent.children[index] = PENDING
        self.apply_virtual_loss(path)
        self.unwind(undo_tokens)
        return ticket, item

    def unwind(self, undo_tokens: list) -> None:
        state = self.state
        for token in reversed(undo_tokens):
            undo_move(state, token)

    def apply_virtual_loss(self, path: list) -> None:
        """``visit_edge(index, -VIRTUAL_LOSS)`` on every edge of ``path``, inlined (hot path)."""
        self.in_flight += 1
        for node, index in path:
            visits = node.counts[index] + 1
            node.counts[index] = visits
            total = node.sums[index] - VIRTUAL_LOSS
            node.sums[index] = total
            node.q[index] = total / visits
            node.u[index] = node.scaled[index] / (visits + 1.0)
            node.total += 1

    @staticmethod
    def pick_child(node: Node) -> int:
        """The PUCT choice at ``node`` (``select_leaf`` inlines it)."""
        scores = node.u * math.sqrt(node.total + 1)
        scores += node.q
        return int(scores.argmax())

    # -- expansion and backup -----------------------------------------------

    def finish(self, ticket: Ticket, evaluation: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Attach the ticket's leaf (with ``evaluation`` unless its value was known) and back up."""
        self.in_flight -= 1
        path = ticket.path
        values = ticket.values
        if ticket.expand is not None:
            mover, moves = ticket.expand
            if values is not None:
                leaf = Node(0, None, None, terminal=values)
            else:
                priors, values = evaluation
                settings = self.settings
                leaf = Node(mover, moves, priors, first_play=float(values[mover - 1]) - settings.fpu_reduction,
                            c_puct=settings.c_puct)
            if path:
                parent, index = path[-1]
                parent.children[index] = leaf
            else:
                self.root = leaf
        else:
            parent, index = path[-1]
            leaf = parent.children[index]
        values = values.tolist()
        leaf.add_value(values)
        # Taking the virtual loss back (one visit less, VIRTUAL_LOSS added) and backing up
        # (one visit more, the value added), fused: the visit count and exploration weight
        # end as they were, and the value sum sees the same two additions in the same order.
        for node, index in path:
            total = node.sums[index] + VIRTUAL_LOSS
            total += values[node.mover - 1]
            node.sums[index] = total
            node.q[index] = total / node.counts[index]
            sums = node.seat_sums
            node.seat_sums = list(values) if sums is None else [a + b for a, b in zip(sums, values)]

    # -- root ------------------------------------------------------------------

    def advance(self, move_index: int) -> None:
        """Play root move ``move_index`` on the live state and keep its subtree."""
        move = self.root.moves[move_index]
        child = self.root.children[move_index]
        apply_move_inplace(self.state, move, validate=False, undo=False)
        self.root = child if isinstance(child, Node) and child.terminal is None else None


def terminal_values_array(state: GameState) -> np.ndarray:
    return np.asarray(terminal_values(state), dtype=np.float64)


def add_root_noise(node: Node, settings: SearchSettings, rng: np.random.Generator) -> None:
    """Mix Dirichlet noise into the root priors (selfplay exploration)."""
    if node is None or not node.moves or len(node.moves) < 2 or settings.dirichlet_fraction <= 0:
        return
    noise = rng.dirichlet([settings.dirichlet_alpha] * len(node.moves))
    node.set_priors((1 - settings.dirichlet_fraction) * node.priors + settings.dirichlet_fraction * noise,
                    settings.c_puct)


def choose_move(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Sample a root move in proportion to visits^(1/T); T == 0 picks the most visited."""
    if temperature <= 1e-6:
        best = np.flatnonzero(visits == visits.max())
        return int(rng.choice(best))
    weights = visits ** (1.0 / temperature)
    return int(rng.choice(len(visits), p=weights / weights.sum()))


def run_simulations(searches: list[Search], evaluator: Evaluator, simulations: int, batch_size: int = 0,
                    overlap: bool = False) -> int:
    """Search until every root has ``simulations`` visits (a reused subtree counts); return evaluations made.

    Each round collects leaves into one evaluator call: one per search, or,
    with ``batch_size``, enough per search (under virtual loss) to fill a
    batch of that size as searches drop out. With ``overlap`` the searches
    are split in two halves: while one half's batch is evaluated on a
    background thread (torch releases the interpreter lock), leaves of the
    other half are selected.
    """
    active = [search for search in searches if search.visits() < simulations]
    if not overlap or len(active) < 2:
        return _run_rounds([active], evaluator, simulations, batch_size, None)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluate") as pool:
        return _run_rounds([active[0::2], active[1::2]], evaluator, simulations, batch_size, pool)


def _run_rounds(groups: list[list[Search]], evaluator: Evaluator, simulations: int, batch_size: int, pool) -> int:
    evaluations = 0
    in_flight = None  # (owners, tickets, future or results) of the batch being evaluated
    turn = 0
    while any(groups) or in_flight is not None:
        group_index = turn % len(groups)
        turn += 1
        group = groups[group_index] = [s for s in groups[group_index] if s.visits() < simulations]
        owners, tickets, items = collect_leaves(group, evaluator, simulations, batch_size)
        if in_flight is not None:
            evaluations += finish_batch(*in_flight)
            in_flight = None
        if items:
            results = pool.submit(evaluator.run, items) if pool is not None else evaluator.run(items)
            in_flight = (owners, tickets, results)
            if pool is None:
                evaluations += finish_batch(*in_flight)
                in_flight = None
        groups = [[s for s in g if s.visits() < simulations or s.in_flight] for g in groups]
    return evaluations


def collect_leaves(group: list[Search], evaluator: Evaluator, simulations: int, batch_size: int):
    """Descend in each search of ``group`` (several times each to fill ``batch_size``)."""
    share = max(1, -(-batch_size // len(group))) if batch_size and group else 1
    owners, tickets, items = [], [], []
    for search in group:
        for _ in range(min(share, simulations - search.visits())):
            selected = search.select_leaf(evaluator)
            if selected is None:
                break
            ticket, item = selected
            if item is None:
                search.finish(ticket, None)
            else:
                owners.append(search)
                tickets.append(ticket)
                items.append(item)
    return owners, tickets, items


def finish_batch(owners: list[Search], tickets: list[Ticket], results) -> int:
    if not isinstance(results, list):
        results = results.result()
    for search, ticket, result in zip(owners, tickets, results):
        search.finish(ticket, result)
    return len(tickets)
