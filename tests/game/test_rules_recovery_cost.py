"""What a recovery slide costs in 3- and 4-player games (RULES.md 8.6,
docs/engine.md "Recovery cost"): the extraction stack is judged in the
position the move is chosen in, before a stack strike removes its target's
top ring, so the struck stack may pay and a strike is never free.

The property test draws random 3-4 player positions in which the mover is
eligible for recovery and checks every listed slide against the rule.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ringrift_cli.game import apply_move_inplace, legal_moves, load_reference_move, undo_move
from ringrift_cli.game.legal import match_legal
from ringrift_cli.game.positions import position
from ringrift_cli.game.recovery import is_recovery_eligible


def strikes(p, to):
    return p.find("recovery_slide", frm="4,4", to=to, mode="stack_strike")


def test_3p_the_struck_stack_pays_and_then_empties(build):
    # Player 1's only buried ring is under the ring the strike removes.
    p = build(
        "square8", 3, stacks={"5,5": [1, 2], "0,0": [3, 3], "7,0": [2]}, markers={"4,4": 1}, hands={1: 0},
        phase="movement",
    )
    assert [p.key(m.extraction) for m in strikes(p, "5,5")] == ["5,5"]
    p.play("recovery_slide", frm="4,4", to="5,5", mode="stack_strike", extraction="5,5")
    assert p.stack("5,5") is None and p.marker("4,4") == 0 and p.marker("5,5") == 0
    # The top ring (player 2's) and the extracted ring, both credited to 1.
    assert p.s.elim[1] == 2 and p.s.on_board[1] == 0 and p.s.on_board[2] == 1
    assert p.s.phase == "line_processing" and p.s.had_recovery


def test_4p_the_struck_stack_pays_and_keeps_other_rings(build):
    # After the strike player 1's ring is on top of [3, 1]; it still pays,
    # and player 3 takes the stack over.
    p = build(
        "square8", 4, stacks={"5,5": [3, 1, 2], "0,0": [4], "7,7": [2, 3]}, markers={"4,4": 1}, hands={1: 0},
        phase="movement",
    )
    assert [p.key(m.extraction) for m in strikes(p, "5,5")] == ["5,5"]
    p.play("recovery_slide", frm="4,4", to="5,5", mode="stack_strike", extraction="5,5")
    assert p.stack("5,5") == (3,) and p.s.ctrl[p.cell("5,5")] == 3
    assert p.stack("7,7") == (2, 3) and p.s.elim[1] == 2


def test_4p_a_strike_may_be_paid_from_the_struck_stack_or_another(build):
    p = build(
        "square8", 4, stacks={"5,5": [1, 4], "1,1": [1, 2, 3], "7,7": [3]}, markers={"4,4": 1}, hands={1: 0},
        phase="movement",
    )
    assert sorted(p.key(m.extraction) for m in strikes(p, "5,5")) == ["1,1", "5,5"]
    p.play("recovery_slide", frm="4,4", to="5,5", mode="stack_strike", extraction="1,1")
    # Paid from the other stack: the struck stack keeps player 1's ring,
    # now on top, and player 1 controls a stack again.
    assert p.stack("5,5") == (1,) and p.stack("1,1") == (2, 3) and p.s.elim[1] == 2


def test_3p_when_no_other_stack_is_eligible_every_slide_is_paid_from_the_struck_one(build):
    # hex8: the only stack holding a buried ring of player 1 is the one
    # next to the marker; every slide pays from it, none is free.
    p = build(
        "hex8", 3, stacks={"1,0,-1": [2, 1, 3], "-3,3,0": [2, 2], "3,-3,0": [3]}, markers={"0,0,0": 1},
        hands={1: 0}, phase="movement",
    )
    slides = p.moves("recovery_slide")
    assert {m.mode for m in slides} == {"fallback", "stack_strike"}
    assert len(slides) == 6  # one per neighbour of the marker: 5 empty cells and the stack
    assert {p.key(m.extraction) for m in slides} == {"1,0,-1"}
    strike = p.find("recovery_slide", to="1,0,-1", mode="stack_strike")
    assert len(strike) == 1
    before = p.s.copy()
    token = apply_move_inplace(p.s, strike[0])
    assert p.stack("1,0,-1") == (2,) and p.s.elim[1] == 2
    undo_move(p.s, token)
    assert p.s == before and p.s.state_hash() == before.state_hash()


def test_a_record_paying_a_strike_from_the_struck_stack_is_accepted(build):
    p = build(
        "hex8", 4, stacks={"1,0,-1": [1, 3], "-3,3,0": [2], "3,-3,0": [4]}, markers={"0,0,0": 1},
        hands={1: 0}, phase="movement",
    )
    record = {
        "type": "recovery_slide", "player": 1, "from": {"x": 0, "y": 0, "z": 0}, "to": {"x": 1, "y": 0, "z": -1},
        "recoveryMode": "stack_strike", "extractionStacks": ["1,0,-1"],
    }
    move = match_legal(p.s, load_reference_move(record, p.s.board, p.s.phase))
    assert move is not None and move.extraction == p.cell("1,0,-1")
    apply_move_inplace(p.s, move, undo=False)
    assert p.stack("1,0,-1") is None and p.s.elim[1] == 2


# -- property: random 3-4 player recovery positions --------------------------------------


@st.composite
def recovery_positions(draw):
    """A position in ``movement`` where the mover controls no stack, owns
    markers and has at least one buried ring; the rest is random."""
    board = draw(st.sampled_from(["square8", "hex8"]))
    n = draw(st.sampled_from([3, 4]))
    mover = draw(st.integers(1, n))
    s = position(board, n)
    cells = draw(st.lists(st.integers(0, s.board.cells - 1), min_size=6, max_size=24, unique=True))
    others = [q for q in range(1, n + 1) if q != mover]
    ring = st.integers(1, n)
    stacks = {}
    k = draw(st.integers(1, max(1, len(cells) // 3)))
    for i, c in enumerate(cells[:k]):
        below = draw(st.lists(ring, min_size=0 if i else 1, max_size=4))
        if i == 0:
            below[draw(st.integers(0, len(below) - 1))] = mover
        stacks[c] = (*below, draw(st.sampled_from(others)))
    rest = cells[k:]
    m = draw(st.integers(1, max(1, len(rest) - 1)))
    markers = {c: mover for c in rest[:m]}
    for c in rest[m:]:
        markers[c] = draw(ring) if draw(st.booleans()) else 0
    keys = s.board.keys
    return position(
        board, n,
        stacks={keys[c]: r for c, r in stacks.items()},
        markers={keys[c]: o for c, o in markers.items() if o},
        collapsed={keys[c]: draw(ring) for c, o in markers.items() if not o},
        hands={mover: 0}, current=mover, phase="movement",
    )  # fmt: skip


def _buried_in(s, p) -> set:
    return {c for c, r in enumerate(s.rings) if r is not None and p in r[:-1]}


@settings(max_examples=150, deadline=None)
@given(s=recovery_positions())
def test_every_paid_recovery_names_a_stack_holding_a_buried_ring_of_the_mover(s):
    p = s.current
    assert is_recovery_eligible(s, p)
    eligible = _buried_in(s, p)
    slides = [m for m in legal_moves(s) if m.kind == "recovery_slide"]
    choices: dict = {}
    for m in slides:
        if m.mode == "line" and m.option == 2:
            # The only free recovery: collapse exactly L of a longer line.
            assert m.extraction == -1 and len(m.collapse) == s.params.line_length < len(m.cells)
            continue
        assert m.extraction in eligible, f"{m} pays from a stack without a buried ring of {p}"
        choices.setdefault(m._replace(extraction=-1), set()).add(m.extraction)
        before = (s.elim[p], s.on_board[p], s.total_elim)
        token = apply_move_inplace(s, m)
        paid = 2 if m.mode == "stack_strike" else 1
        assert (s.elim[p], s.on_board[p], s.total_elim) == (before[0] + paid, before[1] - 1, before[2] + paid)
        undo_move(s, token)
    # Any eligible stack may pay (RULES.md 8.6 item 3), whatever the mode.
    assert all(stacks == eligible for stacks in choices.values())
