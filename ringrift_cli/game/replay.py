"""Replaying and checking reference documents (``ringrift rules check``).

``check_document`` accepts three kinds of JSON document:

* a contract-vector bundle (``{"vectors": [...]}``) -> ``BundleCheck``;
* a game record (``boardType``, ``numPlayers``, ``moves``; FORMAT.md 6.1)
  -> ``GameCheck``;
* any object with ``initial_state`` (a reference state in either ring
  order, detected unless ``ring_order`` names it) and ``moves`` ->
  ``GameCheck``.

A game is replayed move by move; every move must be legal for the player
whose turn it is. The check stops at the first move that is not, and at a
recorded winner that differs from ours. ``result_to_json`` gives the JSON
form documented in docs/engine.md. Input that is not such a document
raises ``UnreadableInputError``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..keys import PLAYER_COUNTS
from .apply import apply_move_inplace, explain_illegal
from .errors import FormatError, UnreadableInputError
from .initial import new_game
from .legal import legal_moves, match_legal
from .reference_format import fingerprint, load_move, load_state
from .rules import RulesOptions
from .state import ACTIVE, GameState
from .vectors import VectorResult, run_bundle


@dataclass(frozen=True)
class PlyInfo:
    """The position before move ``ply`` (1-based): how many distinct legal
    moves there were, the phase and the player to move."""

    ply: int
    legal: int
    phase: str
    player: int


@dataclass(frozen=True)
class PlayerSummary:
    player: int
    rings_in_hand: int
    eliminated: int
    territory: int


@dataclass(frozen=True)
class FinalSummary:
    status: str
    winner: int | None
    players: list


@dataclass(frozen=True)
class Divergence:
    """Where a replay stopped agreeing with the record: the ply (1-based),
    the recorded move as given, and what differed."""

    ply: int
    move: dict | None
    reason: str
    expected: object = None
    actual: object = None


@dataclass
class GameCheck:
    ok: bool
    plies: list = field(default_factory=list)
    final: FinalSummary | None = None
    divergence: Divergence | None = None
    fingerprints: list = field(default_factory=list, repr=False)
    state: GameState | None = field(default=None, repr=False)


@dataclass
class BundleCheck:
    vectors: list

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.vectors)


def final_summary(s: GameState) -> FinalSummary:
    return FinalSummary(
        status=s.status,
        winner=s.winner or None,
        players=[PlayerSummary(p, s.hand[p], s.elim[p], s.territory[p]) for p in range(1, s.n + 1)],
    )


def replay_moves(start: GameState, moves: list, recorded_winner: int | None = None) -> GameCheck:
    """Replay reference move objects from ``start`` (which is not changed).

    ``fingerprints[i]`` is the reference parity string after move i+1."""
    s = start.copy()
    check = GameCheck(ok=True)
    for i, raw in enumerate(moves):
        ply = i + 1
        legal = legal_moves(s)
        check.plies.append(PlyInfo(ply, len(set(legal)), s.phase, s.current))
        try:
            move = load_move(raw, s.board, s.phase)
        except FormatError as exc:
            check.divergence = Divergence(ply, raw, f"unreadable move: {exc}")
            break
        found = match_legal(s, move, legal) if s.status == ACTIVE else None
        if found is None:
            check.divergence = Divergence(
                ply,
                raw,
                "illegal move: " + explain_illegal(s, move),
                expected=f"player {s.current} in {s.phase}",
                actual=f"player {move.player} {move.kind}",
            )
            check.plies.pop()
            break
        apply_move_inplace(s, found, validate=False, undo=False)
        check.fingerprints.append(fingerprint(s))
    if check.divergence is None and recorded_winner and s.status != ACTIVE and s.winner != recorded_winner:
        check.divergence = Divergence(len(moves), None, "different winner", recorded_winner, s.winner)
    check.ok = check.divergence is None
    check.final = final_summary(s)
    check.state = s
    return check


def replay_record(record: dict, options: RulesOptions | None = None) -> GameCheck:
    """Replay a game record (FORMAT.md 6.1) from the standard start."""
    options = options or RulesOptions()
    try:
        board_type = record["boardType"]
        players = record["numPlayers"]
        if not isinstance(players, int) or isinstance(players, bool) or players not in PLAYER_COUNTS:
            raise ValueError(f"numPlayers must be 2, 3 or 4, got {str(players)[:20]}")
        moves = record["moves"]
        if any(isinstance(m, dict) and m.get("type") == "swap_sides" for m in moves):
            # A record that uses the pie rule was played with it enabled.
            options = dataclasses.replace(options, swap_rule=True)
        s = new_game(board_type, players, options)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableInputError(f"not a game record: {exc}") from exc
    if not isinstance(moves, list):
        raise UnreadableInputError("'moves' must be a list")
    winner = record.get("winner")
    return replay_moves(s, moves, int(winner) if winner else None)


def replay_initial_state(doc: dict, options: RulesOptions | None = None) -> GameCheck:
    try:
        start = load_state(doc["initial_state"], doc.get("ring_order", "auto"), options)
    except FormatError as exc:
        raise UnreadableInputError(f"unreadable initial_state: {exc}") from exc
    moves = doc.get("moves")
    if not isinstance(moves, list):
        raise UnreadableInputError("'moves' must be a list")
    winner = doc.get("winner")
    return replay_moves(start, moves, int(winner) if winner else None)


def check_document(doc: object, options: RulesOptions | None = None) -> GameCheck | BundleCheck:
    """Check a parsed JSON document of any of the three supported kinds."""
    if not isinstance(doc, dict):
        raise UnreadableInputError("expected a JSON object")
    if isinstance(doc.get("vectors"), list):
        try:
            return BundleCheck(run_bundle(doc))
        except FormatError as exc:
            raise UnreadableInputError(str(exc)) from exc
    if "initial_state" in doc and "moves" in doc:
        return replay_initial_state(doc, options)
    if "boardType" in doc and "moves" in doc:
        return replay_record(doc, options)
    raise UnreadableInputError("not a vector bundle, a game record or an object with initial_state and moves")


def check_file(path: str | Path, options: RulesOptions | None = None) -> GameCheck | BundleCheck:
    """Read ``path`` (bounded JSON: size, depth, number length) and check it; UnreadableInputError
    if it is not JSON of a supported kind (or cannot be read)."""
    from ..errors import UserError
    from ..json_input import load_file

    try:
        doc = load_file(Path(path), "its content")
    except UserError as exc:
        raise UnreadableInputError(f"cannot read {path}: {exc}") from exc
    return check_document(doc, options)


def result_to_json(result: GameCheck | BundleCheck) -> dict:
    """The documented JSON form of a check result."""
    if isinstance(result, BundleCheck):
        return {"ok": result.ok, "vectors": [asdict(v) for v in result.vectors]}
    return {
        "ok": result.ok,
        "plies": [asdict(p) for p in result.plies],
        "final": asdict(result.final) if result.final else None,
        "divergence": asdict(result.divergence) if result.divergence else None,
    }


__all__ = [
    "BundleCheck",
    "Divergence",
    "FinalSummary",
    "GameCheck",
    "PlayerSummary",
    "PlyInfo",
    "VectorResult",
    "check_document",
    "check_file",
    "replay_moves",
    "replay_record",
    "result_to_json",
]
