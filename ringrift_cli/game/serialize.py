"""Our canonical JSON form of states and moves (format ``ringrift-state/1``).

The form is stable: keys are fixed, positions are written as the
reference's keys (``"x,y"`` / ``"x,y,z"``), stacks list ring owners
**bottom to top**, and maps are written with sorted keys.
``state_from_json(state_to_json(s)) == s`` for every state the engine can
reach; the same holds for moves. docs/engine.md shows an example.

State object::

    {"format": "ringrift-state/1", "board": "square8", "players": 2,
     "options": {...RulesOptions fields...},
     "thresholds": {"rings_per_player", "line_length", "victory",
                    "territory_minimum", "legacy_territory"},
     "stacks": {"3,3": [1, 2, 2]}, "markers": {"2,3": 1}, "collapsed": {},
     "rings_in_hand": [..N..], "eliminated": [..N..],
     "board_eliminated": [..N..], "territory": [..N..],
     "total_eliminated": 0,
     "current_player": 1, "phase": "movement", "status": "active",
     "winner": null, "victory_reason": null,
     "turn": {"number": 0, "moves_this_turn": 1, "must_move_from": "3,3",
              "capture_from": null, "line_elimination_owed": false,
              "territory_elimination_owed": null | "territory" | "recovery",
              "acted": true, "recovery_this_turn": false,
              "swapped": false, "last_actor": 1, "ply": 1},
     "lps": {"round_first": 0, "round_actions": [..N..],
             "exclusive_player": 0, "consecutive_rounds": 0},
     "permanently_eliminated_turn": [..N..]}

Per-player lists are in seat order (player 1 first); ``round_actions``
holds -1 (not yet seen this round), 0 or 1; ``permanently_eliminated_turn``
holds -1 for players still in the game.

Move object: ``{"type", "player"}`` plus only the fields that are set:
``to``, ``from``, ``capture_target`` (keys), ``count``, ``line`` or
``region`` (lists of keys), ``collapse`` (list of keys), ``context``,
``recovery_mode``, ``option``, ``extraction`` (key).
"""

from __future__ import annotations

import dataclasses

from .boards import BOARD_TYPES, Board, board_for
from .errors import FormatError
from .moves import CHOOSE_TERRITORY_OPTION, MOVE_TYPES, PHASES, Move
from .rules import GameParams, RulesOptions
from .state import ACTIVE, COMPLETED, RECOVERY_OWED, TERR_OWED, GameState

FORMAT = "ringrift-state/1"
_OWED = {0: None, TERR_OWED: "territory", RECOVERY_OWED: "recovery"}
_OWED_BACK = {v: k for k, v in _OWED.items()}


def _key(board: Board, cell: int):
    return board.keys[cell] if cell >= 0 else None


def _cell(board: Board, key) -> int:
    if key is None:
        return -1
    try:
        return board.cell_of(key)
    except (KeyError, ValueError, IndexError) as exc:
        raise FormatError(f"position {key!r} is not on a {board.board_type} board") from exc


# -- moves -----------------------------------------------------------------------


def move_to_json(move: Move, board: Board) -> dict:
    out = {"type": move.kind, "player": move.player}
    if move.to >= 0:
        out["to"] = board.keys[move.to]
    if move.frm >= 0:
        out["from"] = board.keys[move.frm]
    if move.target >= 0:
        out["capture_target"] = board.keys[move.target]
    if move.count:
        out["count"] = move.count
    if move.cells:
        name = "region" if move.kind == CHOOSE_TERRITORY_OPTION else "line"
        out[name] = [board.keys[c] for c in move.cells]
    if move.collapse:
        out["collapse"] = [board.keys[c] for c in move.collapse]
    if move.context:
        out["context"] = move.context
    if move.mode:
        out["recovery_mode"] = move.mode
    if move.option:
        out["option"] = move.option
    if move.extraction >= 0:
        out["extraction"] = board.keys[move.extraction]
    return out


def move_from_json(data: dict, board: Board) -> Move:
    try:
        kind = data["type"]
        if kind not in MOVE_TYPES:
            raise FormatError(f"unknown move type {kind!r}")
        cells = data.get("region") or data.get("line") or ()
        return Move(
            kind,
            int(data["player"]),
            _cell(board, data.get("to")),
            _cell(board, data.get("from")),
            _cell(board, data.get("capture_target")),
            int(data.get("count", 0)),
            tuple(_cell(board, k) for k in cells),
            tuple(_cell(board, k) for k in data.get("collapse") or ()),
            data.get("context", ""),
            data.get("recovery_mode", ""),
            int(data.get("option", 0)),
            _cell(board, data.get("extraction")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"unreadable move: {exc}") from exc


# -- states ----------------------------------------------------------------------


def state_to_json(s: GameState) -> dict:
    b = s.board
    players = range(1, s.n + 1)
    return {
        "format": FORMAT,
        "board": b.board_type,
        "players": s.n,
        "options": dataclasses.asdict(s.options),
        "thresholds": {
            "rings_per_player": s.params.rings_per_player,
            "line_length": s.params.line_length,
            "victory": s.params.victory_threshold,
            "territory_minimum": s.params.territory_minimum,
            "legacy_territory": s.params.legacy_territory_threshold,
            "move_cap": s.params.move_cap,
        },
        "stacks": {b.keys[c]: list(r) for c, r in sorted(enumerate(s.rings), key=lambda x: b.keys[x[0]]) if r},
        "markers": {b.keys[c]: p for c, p in sorted(enumerate(s.marker), key=lambda x: b.keys[x[0]]) if p},
        "collapsed": {b.keys[c]: p for c, p in sorted(enumerate(s.collapsed), key=lambda x: b.keys[x[0]]) if p},
        "rings_in_hand": [s.hand[p] for p in players],
        "eliminated": [s.elim[p] for p in players],
        "board_eliminated": [s.board_elim[p] for p in players],
        "territory": [s.territory[p] for p in players],
        "total_eliminated": s.total_elim,
        "current_player": s.current,
        "phase": s.phase,
        "status": s.status,
        "winner": s.winner or None,
        "victory_reason": s.victory_reason or None,
        "turn": {
            "number": s.turn,
            "moves_this_turn": s.turn_moves,
            "must_move_from": _key(b, s.must_move),
            "capture_from": _key(b, s.chain_pos),
            "line_elimination_owed": s.pending_line,
            "territory_elimination_owed": _OWED[s.pending_terr],
            "acted": s.acted,
            "recovery_this_turn": s.had_recovery,
            "swapped": s.swapped,
            "last_actor": s.last_actor,
            "ply": s.ply,
        },
        "lps": {
            "round_first": s.lps_first,
            "round_actions": list(s.lps_mask[1:]),
            "exclusive_player": s.lps_excl,
            "consecutive_rounds": s.lps_count,
        },
        "permanently_eliminated_turn": [s.perm_elim[p] for p in players],
    }


def state_from_json(data: dict) -> GameState:
    """Inverse of ``state_to_json``; raises FormatError on bad input."""
    try:
        if data.get("format") != FORMAT:
            raise FormatError(f"not a {FORMAT} document")
        board_type = data["board"]
        if board_type not in BOARD_TYPES:
            raise FormatError(f"unknown board type {board_type!r}")
        n = int(data["players"])
        options = RulesOptions(**data.get("options", {}))
        t = data["thresholds"]
        params = GameParams(
            board_type=board_type,
            players=n,
            rings_per_player=int(t["rings_per_player"]),
            line_length=int(t["line_length"]),
            victory_threshold=int(t["victory"]),
            territory_minimum=int(t["territory_minimum"]),
            legacy_territory_threshold=int(t["legacy_territory"]),
            move_cap=int(t["move_cap"]),
        )
        s = GameState.empty(board_type, n, options, params)
        b = board_for(board_type)
        for key, rings in data["stacks"].items():
            rings = tuple(int(r) for r in rings)
            s.set_stack(_cell(b, key), rings)
            for r in rings:
                s.on_board[r] += 1
        for key, p in data["markers"].items():
            s.set_marker(_cell(b, key), int(p))
        for key, p in data["collapsed"].items():
            s.set_collapsed(_cell(b, key), int(p))
        for name, field in (
            ("rings_in_hand", s.hand),
            ("eliminated", s.elim),
            ("board_eliminated", s.board_elim),
            ("territory", s.territory),
            ("permanently_eliminated_turn", s.perm_elim),
        ):
            values = data[name]
            if len(values) != n:
                raise FormatError(f"{name} must have {n} entries")
            field[1:] = [int(v) for v in values]
        s.total_elim = int(data["total_eliminated"])
        s.current = int(data["current_player"])
        if data["phase"] not in PHASES:
            raise FormatError(f"unknown phase {data['phase']!r}")
        s.phase = data["phase"]
        if data["status"] not in (ACTIVE, COMPLETED):
            raise FormatError(f"unknown status {data['status']!r}")
        s.status = data["status"]
        s.winner = int(data["winner"] or 0)
        s.victory_reason = data["victory_reason"] or ""
        turn = data["turn"]
        s.turn = int(turn["number"])
        s.turn_moves = int(turn["moves_this_turn"])
        s.must_move = _cell(b, turn["must_move_from"])
        s.chain_pos = _cell(b, turn["capture_from"])
        s.pending_line = bool(turn["line_elimination_owed"])
        s.pending_terr = _OWED_BACK[turn["territory_elimination_owed"]]
        s.acted = bool(turn["acted"])
        s.had_recovery = bool(turn["recovery_this_turn"])
        s.swapped = bool(turn["swapped"])
        s.last_actor = int(turn["last_actor"])
        s.ply = int(turn["ply"])
        lps = data["lps"]
        s.lps_first = int(lps["round_first"])
        s.lps_mask = (-1,) + tuple(int(v) for v in lps["round_actions"])
        s.lps_excl = int(lps["exclusive_player"])
        s.lps_count = int(lps["consecutive_rounds"])
        return s
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"unreadable state: {exc}") from exc
