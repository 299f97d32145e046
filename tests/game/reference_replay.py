"""Replaying the reference engine's random games ply by ply
(conformance/reference-games/README.md) and telling its documented
departures from RULES.md, (a) to (f), from real disagreements.

At every ply the legal-move set is compared (the key list, or its digest
where the record stores only that), then the recorded move is applied and
the position compared (board digest, players, phase, player to move,
status, rings eliminated); at the end, the result. A difference that is
not one of the departures, in the narrow form the README gives, raises
``Disagreement``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from ringrift_cli.game.apply import apply_move_inplace, undo_move
from ringrift_cli.game.legal import legal_moves, match_legal
from ringrift_cli.game.movement import stack_moves
from ringrift_cli.game.moves import PLACE_RING, make_move
from ringrift_cli.game.placement import any_stack_can_act
from ringrift_cli.game.reference_format import load_move, load_state
from ringrift_cli.game.reference_keys import board_sha, move_key, sha16
from ringrift_cli.game.state import COLLAPSED, STACK

# How the record names our victory reasons (its derived_reason).
_REASONS = {
    "ring_elimination": {"ring_elimination"},
    "territory_control": {"territory_control"},
    "last_player_standing": {"last_player_standing_early", "last_player_standing_rounds"},
    "game_completed": {"structural_stalemate"},
}


class Disagreement(AssertionError):
    """Our engine and the record differ in a way (a)-(f) do not explain."""


@dataclass
class GameReplay:
    game_id: str
    plies: int = 0  # recorded moves replayed and compared
    departures: Counter = field(default_factory=Counter)  # letter -> plies where it applied
    stopped: str = ""  # the departure the replay stopped at, if any


def _fields(key: str) -> tuple:
    kind, *parts = key.split("|")
    return kind, dict(p.split("=", 1) for p in parts)


def _cell_count(cells: str) -> int:
    return len(cells.split(";"))


class _Keys:
    """Move keys, cached per move: the same placement and bookkeeping moves
    come back at every ply."""

    def __init__(self):
        self._cache = {}

    def of(self, s, legal) -> list:
        cache = self._cache
        out = []
        for m in legal:
            k = cache.get(m)
            if k is None:
                k = cache[m] = move_key(s, m)
            out.append(k)
        return out


# -- the departures ------------------------------------------------------------


def _most_placed(s, legal) -> dict:
    """Cell key -> the largest count we list there."""
    keys = s.board.keys
    most: dict = {}
    for m in legal:
        if m.kind == PLACE_RING:
            k = keys[m.to]
            most[k] = max(most.get(k, 0), m.count)
    return most


def dead_count(s, to: str, n: int, most: dict) -> bool:
    """(c): a ``place_ring`` count below one we list at that cell, whose
    stack would have no move or capture."""
    if n >= most.get(to, 0):
        return False
    c = s.board.cell_of(to)
    token = apply_move_inplace(s, make_move(PLACE_RING, s.current, c, count=n), validate=False)
    try:
        moves: list = []
        stack_moves(s, c, s.current, moves)
    finally:
        undo_move(s, token)
    return not moves


def blocked_landing_only(s) -> bool:
    """(f): the mover must place (holds rings, controls stacks, none can
    act) yet some stack of height H reaches another stack at distance
    H..H+5 over a clear path, a landing RULES.md 8.2 forbids."""
    p = s.current
    if s.phase != "ring_placement" or not s.hand[p] or not s.stacks_of[p] or any_stack_can_act(s, p):
        return False
    occ = s.occ
    for c in s.stacks_of[p]:
        h = s.height[c]
        for ray in s.board.rays[c]:
            for d, cell in enumerate(ray, start=1):
                if occ[cell] == COLLAPSED:
                    break
                if occ[cell] == STACK:
                    if h <= d <= h + 5:
                        return True
                    break
    return False


def _explain_ref_only(s, legal, key: str, ours: set, only_ours: set) -> str:
    """The departure letter that explains a key only the record lists, or
    ''."""
    kind, f = _fields(key)
    line_length = s.params.line_length
    if kind == "choose_line_option" and f.get("collapse") == f["lines"]:
        if _cell_count(f["lines"]) == line_length and f"process_line|lines={f['lines']}" in ours:
            return "a"
    if kind == "process_line" and _cell_count(f["lines"]) > line_length:
        if f"choose_line_option|lines={f['lines']}|collapse={f['lines']}" in ours:
            return "e"
    if kind == "place_ring" and dead_count(s, f["to"], int(f["n"]), _most_placed(s, legal)):
        return "c"
    if kind == "skip_placement" and blocked_landing_only(s):
        return "f"
    if kind == "no_territory_action" and "skip_territory_processing" in only_ours:
        # The fast detector found none of our regions, so the record
        # declines with the bookkeeping move.
        if all(k.startswith("choose_territory_option") for k in only_ours - {"skip_territory_processing"}):
            return "d"
    return ""


def _split_recovery(keys) -> tuple:
    """({slide key without extract=: set of extraction keys}, other keys)."""
    slides: dict = {}
    other = set()
    for k in keys:
        if k.startswith("recovery_slide|"):
            base, _, extract = k.partition("|extract=")
            slides.setdefault(base, set()).add(extract)
        else:
            other.add(k)
    return slides, other


def compare_keys(s, legal, ours: list, ref: list) -> list:
    """Departure letters that explain the differences between our legal
    keys and the record's; Disagreement for anything else."""
    problems, letters = [], []
    for k, n in Counter(ref).items():
        if n > 1:
            if k.startswith("choose_territory_option|"):
                letters.append("d")
            else:
                problems.append(f"the record lists {k} {n} times")
    our_slides, our_other = _split_recovery(ours)
    ref_slides, ref_other = _split_recovery(set(ref))
    for base in our_slides.keys() | ref_slides.keys():
        mine, theirs = our_slides.get(base), ref_slides.get(base)
        if mine is None or theirs is None or not theirs <= mine:
            problems.append(f"{base}: we pay from {sorted(mine or ())}, the record from {sorted(theirs or ())}")
        elif mine != theirs:
            letters.append("b")
    only_ref, only_ours = ref_other - our_other, our_other - ref_other
    for k in sorted(only_ref):
        letter = _explain_ref_only(s, legal, k, our_other, only_ours)
        if letter:
            letters.append(letter)
        else:
            problems.append(f"only the record lists {k}")
    declined = "no_territory_action" in only_ref
    for k in sorted(only_ours):
        if k.startswith("choose_territory_option|") or (k == "skip_territory_processing" and declined):
            letters.append("d")
        else:
            problems.append(f"only we list {k}")
    if problems:
        raise Disagreement("; ".join(problems))
    return sorted(set(letters))


def _digest_candidates(s, legal, ours: list):
    """(letters, key list) the record may hold where it stores only a
    digest: ours, with dead placement counts added (c), with one extraction
    stack for every slide (b), with skip_placement (f)."""
    ours_set = set(ours)
    most = _most_placed(s, legal)
    dead = [
        f"place_ring|to={to}|n={n}"
        for to, m in most.items()
        for n in range(1, m)
        if f"place_ring|to={to}|n={n}" not in ours_set and dead_count(s, to, n, most)
    ]
    slides, other = _split_recovery(ours)
    extracts = sorted(set().union(*slides.values()) - {""}) if slides else [""]
    for e, skip in itertools.product(extracts, (False, True)):
        if skip and not blocked_landing_only(s):
            continue
        # The record pays every slide from the same (its first) stack.
        keys = list(other)
        keys += [base + "|extract=" + e if e else base for base, x in slides.items() if e in x]
        keys += [base for base, x in slides.items() if e and "" in x]
        letters = ("b",) if len(keys) < len(ours) else ()
        if skip:
            keys.append("skip_placement")
            letters += ("f",)
        yield letters, keys
        if dead:
            yield letters + ("c",), keys + dead


def compare_digest(s, legal, ours: list, pos: dict) -> list:
    if len(ours) == pos["legal_count"] and sha16("\n".join(sorted(ours))) == pos["legal_sha1"]:
        return []
    for letters, keys in _digest_candidates(s, legal, ours):
        if len(keys) == pos["legal_count"] and sha16("\n".join(sorted(keys))) == pos["legal_sha1"]:
            return list(letters)
    raise Disagreement(f"legal-move digest differs: we list {len(ours)}, the record {pos['legal_count']}")


# -- positions and results ------------------------------------------------------


def position_summary(s) -> dict:
    return {
        "board_sha1": board_sha(s),
        "players": [[p, s.hand[p], s.elim[p], s.territory[p]] for p in range(1, s.n + 1)],
        "phase": s.phase,
        "current_player": s.current,
        "status": s.status,
        "total_rings_eliminated": s.total_elim,
    }


def compare_position(s, pos: dict) -> None:
    ours = position_summary(s)
    diff = {k: (v, pos[k]) for k, v in ours.items() if pos[k] != v}
    if diff:
        raise Disagreement(f"position differs (ours, record): {diff}")


def compare_result(s, result: dict) -> None:
    if result["termination"] == "max_plies":
        if s.status != "active":
            raise Disagreement(f"we ended the game ({s.victory_reason}) where the record was cut off")
        return
    ours = (s.status, s.winner, [[p, s.hand[p], s.elim[p], s.territory[p]] for p in range(1, s.n + 1)])
    theirs = (
        result["game_status"],
        result["winner"],
        [[q["playerNumber"], q["ringsInHand"], q["eliminatedRings"], q["territorySpaces"]] for q in result["players"]],
    )
    if ours != theirs:
        raise Disagreement(f"result differs (ours, record): {ours} {theirs}")
    if result["derived_reason"] not in _REASONS.get(s.victory_reason, ()):
        raise Disagreement(f"we won by {s.victory_reason}, the record by {result['derived_reason']}")


# -- one game -----------------------------------------------------------------------


def _stop_letter(s, legal, key: str, ours: list) -> str:
    """The departure a recorded move we reject stands for: a dead count
    (c) or a forbidden skip (f), where the replay must stop."""
    letter = _explain_ref_only(s, legal, key, set(ours), set())
    if letter in ("c", "f"):
        return letter
    raise Disagreement(f"the recorded move {key} is not legal for us")


def replay_game(doc: dict) -> GameReplay:
    s = load_state(doc["initial_state"], "bottom_first")
    out = GameReplay(doc["game_id"])
    keys = _Keys()
    positions = doc["positions"]
    compare_position(s, positions[0])
    for i, raw in enumerate(doc["moves"]):
        pos = positions[i]
        try:
            legal = legal_moves(s)
            ours = keys.of(s, legal)
            if "legal_keys" in pos:
                out.departures.update(compare_keys(s, legal, ours, pos["legal_keys"]))
            else:
                out.departures.update(compare_digest(s, legal, ours, pos))
            found = match_legal(s, load_move(raw, s.board, s.phase), legal)
            if found is None:
                out.stopped = _stop_letter(s, legal, doc["move_keys"][i], ours)
                return out
            apply_move_inplace(s, found, validate=False, undo=False)
            compare_position(s, positions[i + 1])
        except Disagreement as exc:
            raise Disagreement(f"{doc['game_id']} ply {i + 1} ({doc['move_keys'][i]}): {exc}") from None
        out.plies += 1
    try:
        compare_result(s, doc["result"])
    except Disagreement as exc:
        raise Disagreement(f"{doc['game_id']} result: {exc}") from None
    return out
