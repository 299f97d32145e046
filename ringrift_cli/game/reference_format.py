"""Reading the reference project's JSON states and moves, and its parity
fingerprint (conformance/FORMAT.md sections 2-4 and 6.3).

Reference states list stack rings in one of two orders: TS-format data
(contract vectors, ``ts_state`` files) top first, the reference Python
engine's serialization bottom first. ``load_state`` takes the order as a
parameter (``"top_first"``, ``"bottom_first"``, or ``"auto"`` decided for
the whole document by ``detect_ring_order``) and checks it against each
stack's ``controllingPlayer``.

Turn flags that the reference derives from ``moveHistory`` (has the mover
acted, is a territory self-elimination owed, must-move stack, capture
origin) are derived here the same way.
"""

from __future__ import annotations

import dataclasses

from ..keys import PLAYER_COUNTS
from .boards import BOARD_TYPES, Board, board_for
from .errors import FormatError
from .moves import (
    BOOKKEEPING_TYPES,
    CAPTURE,
    CHOOSE_LINE_OPTION,
    CHOOSE_TERRITORY_OPTION,
    LEGACY_MOVE_NAMES,
    LINE_PROCESSING,
    MOVE_TYPES,
    MOVEMENT,
    PHASES,
    PLACE_RING,
    PROCESS_LINE,
    RECOVERY_SLIDE,
    SWAP_SIDES,
    TERRITORY_PROCESSING,
    Move,
)
from .rules import RulesOptions, params_for
from .state import ACTIVE, COMPLETED, RECOVERY_OWED, TERR_OWED, GameState

RING_ORDERS = ("top_first", "bottom_first", "auto")


# -- positions -----------------------------------------------------------------


def cell_of_position(board: Board, pos) -> int:
    """Cell index of a reference position (``{"x","y","z"?}`` or a key
    string), or -1 when absent or off the board."""
    if pos is None:
        return -1
    if isinstance(pos, str):
        try:
            return board.cell_of(pos)
        except (KeyError, ValueError, IndexError):
            return -1
    if not isinstance(pos, dict) or pos.get("x") is None or pos.get("y") is None:
        return -1
    try:
        x, y = int(pos["x"]), int(pos["y"])
        z = pos.get("z")
        return board.cell_at(x, y, None if z is None else int(z))
    except (TypeError, ValueError):
        return -1


def position_of_cell(board: Board, cell: int) -> dict:
    c = board.coords[cell]
    if board.is_hex:
        return {"x": c[0], "y": c[1], "z": c[2]}
    return {"x": c[0], "y": c[1]}


# -- moves -----------------------------------------------------------------------


def canonical_move_type(name: str) -> str:
    name = LEGACY_MOVE_NAMES.get(name, name)
    if name not in MOVE_TYPES:
        raise FormatError(f"unknown move type {name!r}")
    return name


def _cells(board: Board, positions) -> tuple:
    out = []
    for pos in positions or ():
        c = cell_of_position(board, pos)
        if c < 0:
            raise FormatError(f"position {pos!r} is not on a {board.board_type} board")
        out.append(c)
    return tuple(out)


def load_move(data: dict, board: Board, phase: str | None = None) -> Move:
    """A ``Move`` from a reference move object or game-record entry.

    Legacy type names are mapped; null, 0 and empty fields count as absent.
    ``phase`` (the phase the move is played in) fills a missing
    ``eliminationContext``."""
    if not isinstance(data, dict) or "type" not in data:
        raise FormatError("a move needs a 'type'")
    kind = canonical_move_type(str(data["type"]))
    try:
        player = int(data.get("player") or 0)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"bad player in move: {data.get('player')!r}") from exc
    to = cell_of_position(board, data.get("to"))
    frm = cell_of_position(board, data.get("from", data.get("fromPos")))
    target = cell_of_position(board, data.get("captureTarget"))
    count = 0
    if kind == PLACE_RING:
        count = int(data.get("placementCount") or 1)
    cells: tuple = ()
    collapse: tuple = ()
    lines = data.get("formedLines") or []
    if kind in (PROCESS_LINE, CHOOSE_LINE_OPTION) and lines:
        cells = _cells(board, lines[0].get("positions"))
    if kind == CHOOSE_LINE_OPTION and data.get("collapsedMarkers"):
        collapse = _cells(board, data["collapsedMarkers"])
    regions = data.get("disconnectedRegions") or []
    if kind == CHOOSE_TERRITORY_OPTION and regions:
        cells = tuple(sorted(_cells(board, regions[0].get("spaces"))))
    context = data.get("eliminationContext") or ""
    if not context and kind == "eliminate_rings_from_stack" and phase == LINE_PROCESSING:
        context = "line"
    mode = option = 0
    extraction = -1
    mode = ""
    if kind == RECOVERY_SLIDE:
        mode = data.get("recoveryMode") or "line"
        option = int(data.get("option") or data.get("recoveryOption") or 0)
        if mode == "line" and not option:
            option = 1
        if data.get("collapsePositions"):
            collapse = _cells(board, data["collapsePositions"])
        stacks = data.get("extractionStacks") or []
        if stacks:
            extraction = cell_of_position(board, stacks[0])
    return Move(kind, player, to, frm, target, count, cells, collapse, context, mode, option, extraction)


# -- states ----------------------------------------------------------------------


def detect_ring_order(stacks: dict) -> str:
    """``top_first`` or ``bottom_first``, whichever more stacks of the
    document agree with (their controller at that end only); ties and
    documents without telling stacks read as ``top_first``."""
    votes = 0
    for stack in stacks.values():
        rings = stack.get("rings") if isinstance(stack, dict) else None
        controller = stack.get("controllingPlayer") if isinstance(stack, dict) else None
        if not rings or controller is None:
            continue
        top_says = rings[0] == controller
        bottom_says = rings[-1] == controller
        if top_says and not bottom_says:
            votes += 1
        elif bottom_says and not top_says:
            votes -= 1
    return "bottom_first" if votes < 0 else "top_first"


def _ring_list(stack: dict, order: str, key: str) -> tuple:
    rings = stack.get("rings")
    controller = stack.get("controllingPlayer")
    if not rings:
        height = int(stack.get("stackHeight") or 0)
        if height <= 0 or controller is None:
            raise FormatError(f"stack at {key} has no rings")
        return (int(controller),) * height
    rings = [int(r) for r in rings]
    bottom_first = tuple(reversed(rings)) if order == "top_first" else tuple(rings)
    if controller is not None and bottom_first[-1] != int(controller):
        raise FormatError(
            f"stack at {key}: top ring {bottom_first[-1]} is not the controlling player {controller} "
            f"(ring order {order!r})"
        )
    return bottom_first


def _options_from(data: dict, base: RulesOptions | None) -> RulesOptions:
    opts = base or RulesOptions()
    ro = data.get("rulesOptions") or {}
    changes = {}
    if "swapRuleEnabled" in ro:
        changes["swap_rule"] = bool(ro["swapRuleEnabled"])
    if ro.get("ringsPerPlayer"):
        changes["rings_per_player"] = int(ro["ringsPerPlayer"])
    if ro.get("lpsRoundsRequired"):
        changes["lps_rounds"] = int(ro["lpsRoundsRequired"])
    return dataclasses.replace(opts, **changes) if changes else opts


def load_state(data: dict, ring_order: str = "top_first", options: RulesOptions | None = None) -> GameState:
    """A ``GameState`` from a reference serialized state (FORMAT.md 3).

    Thresholds stored in the state win over computed ones: a stored
    ``victoryThreshold``; a stored ``territoryVictoryMinimum``, else the
    legacy ``territoryVictoryThreshold`` (what both reference engines fall
    back to). Board geometry always follows ``board.type``."""
    if ring_order not in RING_ORDERS:
        raise ValueError(f"ring_order must be one of {RING_ORDERS}")
    if not isinstance(data, dict):
        raise FormatError("a state must be a JSON object")
    board_data = data.get("board")
    if not isinstance(board_data, dict):
        raise FormatError("state has no 'board' object")
    board_type = board_data.get("type") or data.get("boardType")
    if board_type not in BOARD_TYPES:
        raise FormatError(f"unknown board type {board_type!r}")
    players = data.get("players")
    if not isinstance(players, list) or not players:
        raise FormatError("state has no 'players' list")
    n = len(players)
    if n > max(PLAYER_COUNTS):  # a test position may list fewer players than a game starts with
        raise FormatError(f"a state lists at most {max(PLAYER_COUNTS)} players, this one {n}")
    board = board_for(board_type)
    opts = _options_from(data, options)
    params = params_for(board_type, max(n, 1), opts)
    overrides = {}
    if data.get("victoryThreshold"):
        overrides["victory_threshold"] = int(data["victoryThreshold"])
    if data.get("territoryVictoryMinimum"):
        overrides["territory_minimum"] = int(data["territoryVictoryMinimum"])
    elif data.get("territoryVictoryThreshold"):
        overrides["territory_minimum"] = int(data["territoryVictoryThreshold"])
    if overrides:
        params = dataclasses.replace(params, **overrides)
    s = GameState.empty(board_type, n, opts, params)
    try:
        _fill_board(s, board, board_data, ring_order)
        _fill_players(s, data, players)
        _fill_turn(s, board, data)
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"unreadable state: {exc}") from exc
    return s


def _fill_board(s: GameState, board: Board, data: dict, ring_order: str) -> None:
    if ring_order == "auto":
        ring_order = detect_ring_order(data.get("stacks") or {})
    for key, stack in (data.get("stacks") or {}).items():
        c = _cell_of_key(board, key)
        rings = _ring_list(stack, ring_order, key)
        s.set_stack(c, rings)
        for r in rings:
            if 1 <= r <= s.n:
                s.on_board[r] += 1
    for key, marker in (data.get("markers") or {}).items():
        c = _cell_of_key(board, key)
        player = marker.get("player") if isinstance(marker, dict) else marker
        s.set_marker(c, int(player))
    for key, owner in (data.get("collapsedSpaces") or {}).items():
        c = _cell_of_key(board, key)
        owner = owner.get("player") if isinstance(owner, dict) else owner
        s.set_collapsed(c, int(owner))
    for key, value in (data.get("eliminatedRings") or {}).items():
        p = int(key)
        if 1 <= p <= s.n:
            s.board_elim[p] = int(value)


def _cell_of_key(board: Board, key: str) -> int:
    try:
        return board.cell_of(key)
    except (KeyError, ValueError, IndexError) as exc:
        raise FormatError(f"position {key!r} is not on a {board.board_type} board") from exc


def _fill_players(s: GameState, data: dict, players: list) -> None:
    for i, pl in enumerate(players):
        p = int(pl.get("playerNumber", i + 1))
        if not 1 <= p <= s.n:
            raise FormatError(f"player number {p} out of range")
        s.hand[p] = int(pl.get("ringsInHand") or 0)
        s.elim[p] = int(pl.get("eliminatedRings") or 0)
        s.territory[p] = int(pl.get("territorySpaces") or 0)
    total = data.get("totalRingsEliminated")
    s.total_elim = int(total) if total is not None else sum(s.board_elim)


def _history_tail(history: list, current: int) -> list:
    tail = []
    for mv in reversed(history):
        if not isinstance(mv, dict) or mv.get("player") != current:
            break
        tail.append(mv)
    tail.reverse()
    return tail


def _fill_turn(s: GameState, board: Board, data: dict) -> None:
    s.current = int(data.get("currentPlayer") or 1)
    phase = data.get("currentPhase") or "ring_placement"
    if phase not in PHASES:
        raise FormatError(f"unknown phase {phase!r}")
    s.phase = phase
    status = data.get("gameStatus") or ACTIVE
    s.status = COMPLETED if status in ("completed", "finished") else ACTIVE if status == "active" else status
    s.winner = int(data.get("winner") or 0)
    history = [m for m in (data.get("moveHistory") or []) if isinstance(m, dict)]
    tail = _history_tail(history, s.current)
    kinds = [LEGACY_MOVE_NAMES.get(m.get("type"), m.get("type")) for m in tail]
    s.acted = any(k not in BOOKKEEPING_TYPES for k in kinds)
    s.had_recovery = RECOVERY_SLIDE in kinds
    s.turn_moves = len(tail)
    s.swapped = any(m.get("type") == SWAP_SIDES for m in history)
    s.last_actor = int(history[-1].get("player") or 0) if history else 0
    # Turns completed so far: one per change of player in the history,
    # plus the last one when the history ends with another player's move.
    s.turn = sum(1 for a, b in zip(history, history[1:]) if a.get("player") != b.get("player"))
    if history and not tail:
        s.turn += 1
    s.ply = len(history)
    must = data.get("mustMoveFromStackKey")
    if must:
        s.must_move = _cell_of_key(board, must)
    elif phase == MOVEMENT and kinds and kinds[-1] == PLACE_RING:
        s.must_move = cell_of_position(board, tail[-1].get("to"))
    chain = data.get("chainCapturePosition")
    if chain:
        s.chain_pos = cell_of_position(board, chain)
    elif phase == CAPTURE and tail:
        s.chain_pos = cell_of_position(board, tail[-1].get("to"))
    if data.get("pendingLineRewardElimination"):
        s.pending_line = True
    if phase == TERRITORY_PROCESSING and kinds and kinds[-1] == CHOOSE_TERRITORY_OPTION:
        s.pending_terr = RECOVERY_OWED if s.had_recovery else TERR_OWED


# -- fingerprint -------------------------------------------------------------------


def fingerprint(s: GameState) -> str:
    """The reference's parity string (FORMAT.md 6.3)."""
    keys = s.board.keys
    over = s.status != ACTIVE
    meta = ":".join(
        (
            "0" if over else str(s.current),
            "game_over" if over else s.phase,
            s.status,
            "1" if s.pending_line else "0",
        )
    )
    players = "|".join(sorted(f"{p}:{s.hand[p]}:{s.elim[p]}:{s.territory[p]}" for p in range(1, s.n + 1)))
    stacks = "|".join(
        sorted(f"{keys[c]}:{s.ctrl[c]}:{s.height[c]}:{s.cap[c]}" for c, r in enumerate(s.rings) if r is not None)
    )
    markers = "|".join(sorted(f"{keys[c]}:{p}" for c, p in enumerate(s.marker) if p))
    collapsed = "|".join(sorted(f"{keys[c]}:{p}" for c, p in enumerate(s.collapsed) if p))
    return "#".join((meta, players, stacks, markers, collapsed))
