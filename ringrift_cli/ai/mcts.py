"""PUCT search with per-seat values, run for many games at once.

Each node keeps, for its legal moves, the prior, visit count and summed
value *for the seat to move at that node*; a leaf's evaluation is a value
per seat, so 3- and 4-player games back up each seat's own outlook rather
than a two-player "negate on the way up".

``Search`` is one game's tree. ``run_simulations`` advances many searches
together: every round each search descends to one leaf, all leaves are
evaluated in one batch (one network call), then each search expands and
backs up. Root noise (Dirichlet) and move temperature are applied by the
caller through ``add_root_noise`` and ``choose_move``. A position with one
legal move gets a node but no evaluation: a descent plays on through it to
the next choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..game import GameState, Move, apply_move_inplace, legal_moves
from ..settings import default_of
from .evaluators import Evaluator
from .heuristic import terminal_values


@dataclass(frozen=True)
class SearchSettings:
    """Search parameters; those that are settings default to the settings' single defaults."""

    simulations: int = default_of("selfplay.simulations")
    c_puct: float = default_of("selfplay.c_puct")
    # An unvisited move starts at its parent's value (the position's own evaluation) minus this
    # (first-play urgency). 0.2 starved every sibling of the first move tried when the priors are
    # flat: 1.5/135*sqrt(N) stays under 0.2 until N is in the tens of thousands (docs/benchmarks.md).
    fpu_reduction: float = 0.0
    dirichlet_alpha: float = 0.3  # selfplay picks it per board (DIRICHLET_ALPHA)
    dirichlet_fraction: float = default_of("selfplay.dirichlet_fraction")
    # The root search: Gumbel-top-k with sequential halving (``gumbel.py``), or PUCT like the rest of the tree.
    gumbel: bool = default_of("search.gumbel")
    gumbel_k: int = 16  # moves kept at the root
    c_visit: float = 50.0  # sigma(q) = (c_visit + max visits) * c_scale * q, as in the paper
    c_scale: float = 1.0


# Dirichlet alpha per board, scaled to the typical number of legal moves.
DIRICHLET_ALPHA = {"square8": 0.3, "square19": 0.15, "hex8": 0.2, "hexagonal": 0.15}


class Node:
    """One expanded position: per legal move, its prior, visit count and value sum for ``mover``.

    ``visits``, ``value_sums`` and ``mean_values()`` are what callers read. Inside, the
    per-visit updates (several per edge of every descent) work on Python floats, which
    cost a fraction of numpy's scalar indexing; only the two vectors that picking a child
    combines are numpy arrays, each kept current edge by edge:
    ``q`` (mean value, or the first-play value while unvisited) and ``u`` (the
    exploration weight c_puct * prior / (visits + 1)). The per-seat values backed up
    through the node are kept as a list and summed, in the order they came, only when
    asked for (``mean_values``): few nodes are ever asked.
    """

    __slots__ = ("mover", "moves", "priors", "scaled", "counts", "sums", "q", "u", "fpu", "children",
                 "terminal", "backed_up", "total", "state", "value")

    def __init__(self, mover: int, moves: list[Move] | None, priors: np.ndarray | None,
                 terminal: np.ndarray | None = None, first_play: float = 0.0, c_puct: float = 1.0,
                 jitter: np.ndarray | None = None):
        self.mover = mover
        self.moves = moves
        count = len(moves) if moves else 0
        self.priors = priors
        self.counts = [0.0] * count
        self.sums = [0.0] * count
        self.fpu = first_play
        self.q = np.empty(count)
        self.q.fill(first_play)  # np.full's own overhead is twice this
        if jitter is not None:  # breaks exact ties at random rather than by generation order
            self.q += jitter
        scaled = c_puct * priors if priors is not None else np.zeros(count)
        self.scaled = scaled.tolist()
        self.u = np.asarray(scaled, dtype=np.float64)  # scaled / (0 visits + 1), the same bits
        self.children: list = [None] * count
        self.terminal = terminal  # per-seat values when the game is over here
        self.backed_up: list = []  # per-seat value lists, in backup order
        self.total = 0
        self.state: GameState | None = None  # the position here, for the few that ``Search`` keeps
        self.value = first_play  # the evaluation of this position for ``mover`` (set on expansion)

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
        """Per-seat sum of the values backed up through this node (None before any)."""
        if not self.backed_up:
            return None
        sums = self.backed_up[0]
        for values in self.backed_up[1:]:
            sums = [a + b for a, b in zip(sums, values)]
        return np.array(sums, dtype=np.float64)

    def set_priors(self, priors: np.ndarray, c_puct: float) -> None:
        self.priors = priors
        scaled = c_puct * priors
        self.scaled = scaled.tolist()
        self.u = scaled / (self.visits + 1.0)

    def add_value(self, values: list) -> None:
        self.total += 1
        self.backed_up.append(values)

    def mean_values(self) -> np.ndarray:
        return self.seat_value_sum / self.total


# Far below any real difference of values (which are float32 from a network), far above rounding.
TIE_JITTER = 1e-7

# A run of forced moves longer than this is evaluated where it stands (no rule makes one, but a
# descent must not loop forever if one did).
MAX_FORCED_RUN = 32

# Marks a child whose first evaluation is in flight, so a second descent in the same batch stops short of it.
PENDING = object()
VIRTUAL_LOSS = 1.0


# How many positions a search keeps in its nodes, in board cells: 16 positions of an 8x8
# board, 2 of the big ones. Each is some 25 containers that the garbage collector scans
# again and again; keeping every node's position (the fewest moves to replay) cost more
# there than it saved.
KEPT_CELLS = 1 << 10


@dataclass(slots=True)
class Ticket:
    """One descent awaiting its evaluation: the edges walked and what to attach at the end."""

    path: list  # (node, child index) from the root down
    expand: tuple | None  # (mover, moves, position) of a new leaf to expand with the evaluation
    values: np.ndarray | None  # known values (terminal leaf) or None until evaluated


class Search:
    """The search tree of one game; ``state`` is that game's live position (only ``advance`` changes it).

    A descent needs the position at its new leaf: a copy of the deepest
    position kept on its path (the live state at the root) with the moves
    after it played, no undo needed. That costs less than playing the moves
    on the live state and undoing them, and the first nodes created (the
    ones most walked through) keep their position, so that a leaf replays
    fewer moves (about three where its path has five on the small boards;
    ``KEPT_CELLS`` bounds how many). The engine's states are values (equal
    positions generate the same moves in the same order), so the leaf, and
    all that follows, is the same whichever way it was reached.

    Several descents may be in flight at once: each puts a virtual loss on
    the edges it walked, so the next one explores elsewhere, and removes it
    when its evaluation is backed up.
    """

    def __init__(self, state: GameState, settings: SearchSettings, rng: np.random.Generator | None = None):
        self.state = state
        self.settings = settings
        # Draws the tie-breaking jitter of each new node, so equal scores are not decided by move order.
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.noised_root: Node | None = None  # the root that root noise was last mixed into
        # Root moves (indices, taken from the end) that the next descents must start with, as a
        # root search such as Gumbel's sequential halving plans them; None: PUCT at the root too.
        self.root_plan: list[int] | None = None
        self.root_choice: int | None = None  # the move a Gumbel root search chose
        self.root: Node | None = None
        self.in_flight = 0
        self.kept = 0  # nodes of this tree holding a position (or about to)
        self.keep_limit = KEPT_CELLS // len(state.height)

    def visits(self) -> int:
        """Root visits, those in flight included (virtual visits count at the root too)."""
        return self.root.total if self.root is not None else self.in_flight

    def remaining(self, simulations: int) -> int:
        """Descents still to start: those planned at the root, else up to ``simulations`` root visits."""
        if self.root_plan is not None:
            return len(self.root_plan)
        return simulations - self.visits()

    # -- descent -----------------------------------------------------------

    def select_leaf(self, evaluator: Evaluator) -> tuple[Ticket, object] | None:
        """Walk to a leaf and prepare its evaluation.

        Returns (ticket, evaluator item or None for a known value), or None
        when the walk ran into a leaf already in flight (nothing to do now).
        """
        if self.root is None:
            if self.in_flight:
                return None
            self.kept = 0
            return self.open_leaf([], self.state, evaluator)
        path: list[tuple[Node, int]] = []
        node = self.root
        sqrt = math.sqrt
        plan = self.root_plan
        while True:
            children = node.children
            if plan and node is self.root:
                index = plan.pop()
            elif len(children) == 1:  # a forced move: nothing to weigh
                index = 0
            else:  # pick_child, inlined: this loop runs for every edge of every descent
                if node.priors is None:
                    self.fill_priors(node, path, evaluator)
                scores = node.u * sqrt(node.total + 1)
                scores += node.q
                index = int(scores.argmax())
            path.append((node, index))
            child = children[index]
            if child is PENDING:
                if plan is not None and len(path) == 1:
                    plan.append(index)  # not started: keep it planned
                return None
            if child is None or child.terminal is not None:
                break
            node = child
        if child is not None:  # a terminal node met before
            self.apply_virtual_loss(path)
            return Ticket(path, None, child.terminal), None
        return self.open_leaf(path, self.position_after(path), evaluator)

    def position_after(self, path: list) -> GameState:
        """A copy of the position that ``path`` leads to: the deepest position kept on it (the root's is
        the live state), then the moves after it."""
        if not path:
            return self.state.copy()
        first = len(path) - 1
        while first and path[first][0].state is None:
            first -= 1
        state = (path[first][0].state if first else self.state).copy()
        for node, index in path[first:]:
            apply_move_inplace(state, node.moves[index], validate=False, undo=False)
        return state

    def fill_priors(self, node: Node, path: list, evaluator: Evaluator) -> None:
        """Ask ``evaluator`` for the priors it left out of ``node``'s evaluation (``path`` leads to it).

        The heuristic's prior evaluates every move one ply on, some thirty times the cost of the
        position's own value, and over 40% of a search's leaves are never descended through: their
        priors would never be read (docs/benchmarks.md)."""
        if node.state is not None:
            state = node.state
        else:
            state = self.position_after(path) if path else self.state
        node.set_priors(evaluator.priors(state, node.moves), self.settings.c_puct)

    def root_priors(self, evaluator: Evaluator) -> np.ndarray:
        """The root's priors, asked for first if its evaluation left them out."""
        if self.root.priors is None:
            self.fill_priors(self.root, [], evaluator)
        return self.root.priors

    def open_leaf(self, path: list, state: GameState, evaluator: Evaluator) -> tuple[Ticket, object]:
        moves = None if state.is_over() else legal_moves(state)
        if moves is not None and len(moves) == 1 and path:
            moves = self.play_forced_moves(path, state, moves)
        if moves is None:
            ticket, item = Ticket(path, (0, None, None), terminal_values_array(state)), None
        else:
            item = evaluator.prepare(state, moves)
            kept = None
            if path:
                parent, index = path[-1]
                parent.children[index] = PENDING
                if self.kept < self.keep_limit:  # (the root's position is the live state)
                    kept = state
                    self.kept += 1
            # A position not kept is dropped now rather than held through the batch.
            ticket = Ticket(path, (state.current, moves, kept), None)
        self.apply_virtual_loss(path)
        return ticket, item

    def play_forced_moves(self, path: list, state: GameState, moves: list[Move]) -> list[Move] | None:
        """Play on from ``state`` while it has only one legal move, giving each such position a node on
        ``path`` but no evaluation; return the legal moves where a choice is left (None: the game ended).

        More than half of a search's positions had one legal move (a line or region step with nothing
        to choose), and each cost a simulation and an evaluation: the search saw half as deep as its
        budget (docs/benchmarks.md)."""
        for _ in range(MAX_FORCED_RUN):
            parent, index = path[-1]
            node = Node(state.current, moves, np.ones(1), c_puct=self.settings.c_puct)
            parent.children[index] = node
            path.append((node, 0))
            apply_move_inplace(state, moves[0], validate=False, undo=False)
            if state.is_over():
                return None
            moves = legal_moves(state)
            if len(moves) > 1:
                break
        return moves

    def apply_virtual_loss(self, path: list) -> None:
        """Count a visit of value -VIRTUAL_LOSS on every edge of ``path`` (and at its nodes)."""
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
            mover, moves, state = ticket.expand
            if values is not None:
                leaf = Node(0, None, None, terminal=values)
            else:
                priors, values = evaluation
                settings = self.settings
                leaf = Node(mover, moves, priors, first_play=float(values[mover - 1]) - settings.fpu_reduction,
                            c_puct=settings.c_puct, jitter=self.rng.random(len(moves)) * TIE_JITTER)
                leaf.state = state
                leaf.value = float(values[mover - 1])
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
            node.backed_up.append(values)

    # -- root ------------------------------------------------------------------

    def advance(self, move_index: int) -> None:
        """Play root move ``move_index`` on the live state and keep its subtree."""
        move = self.root.moves[move_index]
        child = self.root.children[move_index]
        apply_move_inplace(self.state, move, validate=False, undo=False)
        self.root = child if isinstance(child, Node) and child.terminal is None else None
        self.kept = 0
        if self.root is not None:
            self.root.state = None  # the live state is that position now
            below = [self.root]
            while below:
                node = below.pop()
                for child in node.children:
                    if isinstance(child, Node):
                        self.kept += child.state is not None
                        below.append(child)


def terminal_values_array(state: GameState) -> np.ndarray:
    return np.asarray(terminal_values(state), dtype=np.float64)


def add_root_noise(node: Node, settings: SearchSettings, rng: np.random.Generator) -> None:
    """Mix Dirichlet noise into the root priors (selfplay exploration)."""
    if node is None or not node.moves or len(node.moves) < 2 or settings.dirichlet_fraction <= 0:
        return
    noise = rng.dirichlet([settings.dirichlet_alpha] * len(node.moves))
    node.set_priors((1 - settings.dirichlet_fraction) * node.priors + settings.dirichlet_fraction * noise,
                    settings.c_puct)


def choose_move(visits: np.ndarray, temperature: float, rng: np.random.Generator,
                values: np.ndarray | None = None) -> int:
    """Sample a root move in proportion to visits^(1/T); T == 0 picks the most visited, among
    equally visited the best of ``values`` (the mover's mean values) when given, then at random."""
    if temperature <= 1e-6:
        best = np.flatnonzero(visits == visits.max())
        if values is not None and len(best) > 1:
            tied = values[best]
            best = best[tied >= tied.max() - 1e-12]
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
    active = [search for search in searches if search.remaining(simulations) > 0]
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
        group = groups[group_index] = [s for s in groups[group_index] if s.remaining(simulations) > 0]
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
        groups = [[s for s in g if s.remaining(simulations) > 0 or s.in_flight] for g in groups]
    return evaluations


def collect_leaves(group: list[Search], evaluator: Evaluator, simulations: int, batch_size: int):
    """Descend in each search of ``group`` (several times each to fill ``batch_size``)."""
    share = max(1, -(-batch_size // len(group))) if batch_size and group else 1
    owners, tickets, items = [], [], []
    for search in group:
        for _ in range(min(share, search.remaining(simulations))):
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
