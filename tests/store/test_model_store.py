"""The models and matches tables: statuses, one best per config, rollback, append-only matches."""

from __future__ import annotations

import pytest

from ringrift_cli.errors import UserError
from ringrift_cli.store.artifacts import register_artifact_in
from ringrift_cli.store.matches import matches_for, record_match_in, recorded_game_indices
from ringrift_cli.store.models import (best_model, find_model, promote_in, register_model_in, reject_in,
                                       rollback_in)


def add_model(store, model_id: str, config_key: str = "hex8_2p", parent: str | None = None):
    with store.write() as db:
        artifact, _ = register_artifact_in(db, kind="model", config_key=config_key, path=f"models/{model_id}.pt",
                                           sha256=model_id, size=1, meta={}, job_id=None)
        model, created = register_model_in(db, model_id=model_id, config_key=config_key, artifact_id=artifact.id,
                                           parent_id=parent, metrics={"val_loss": 1.0}, lineage={"shards": []},
                                           encoder_version=1, job_id=None)
    assert created
    return model


def test_promotion_retires_the_old_best_and_rollback_restores_it(store):
    a, b = add_model(store, "aa" * 32), add_model(store, "bb" * 32, parent="aa" * 32)
    with store.write() as db:
        assert promote_in(db, a, None, {"why": "first"}).status == "best"
    with store.write() as db:
        assert promote_in(db, b, None, {}) is None  # the best changed under it: nothing happens
        promoted = promote_in(db, b, a.id, {"sprt": "pass"})
    assert promoted.status == "best" and promoted.evidence["previous_best"] == a.id
    assert find_model(store, "aaaa", "hex8_2p").status == "retired"
    with store.write() as db:
        restored, demoted = rollback_in(db, "hex8_2p")
    assert (restored.id, demoted.id) == (a.id, b.id)
    assert best_model(store, "hex8_2p").id == a.id and find_model(store, "bbbb", "hex8_2p").status == "retired"
    with pytest.raises(UserError, match="nothing to roll back"):
        with store.write() as db:
            rollback_in(db, "hex8_2p")


def test_rejection_only_applies_to_candidates_and_lookup_checks_config(store):
    a = add_model(store, "cc" * 32)
    with store.write() as db:
        assert reject_in(db, a, "too weak", {"score": 0.1}).reason == "too weak"
        assert reject_in(db, a, "again", {}) is None
    with pytest.raises(UserError, match="not square8_2p"):
        find_model(store, "cc", "square8_2p")
    with pytest.raises(UserError, match="no model"):
        find_model(store, "zz'; drop", "hex8_2p")


def test_a_match_is_recorded_once_per_job_and_index(store):
    store.conn.execute("INSERT INTO jobs (kind, config_key, max_attempts, trace_id, created_at, updated_at) "
                       "VALUES ('eval', 'hex8_2p', 3, 'x', 0, 0)")
    args = dict(config_key="hex8_2p", job_id=1, game_index=0, players=["random", "heuristic"], ranks=[2, 1],
                seed=5, simulations=4, moves=30, status="completed")
    with store.write() as db:
        assert record_match_in(db, **args)
        assert not record_match_in(db, **args)
    rows = matches_for(store, "hex8_2p")
    assert len(rows) == 1 and rows[0].players == ("random", "heuristic") and rows[0].ranks == (2, 1)
    assert recorded_game_indices(store, 1) == {0}
