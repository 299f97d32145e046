"""A week of ticks on a fake clock, with scripted stage outcomes (succeed, fail, hang), halts and a
full disk, checking the loop's invariants after every tick. Real state file; no processes, no torch."""

from __future__ import annotations

import pytest

from ringrift_cli.context import open_context
from ringrift_cli.loop.knobs import loop_settings
from ringrift_cli.loop.tick import run_tick
from ringrift_cli.store.artifacts import list_artifacts, register_artifact_in
from ringrift_cli.store.breakers import list_breakers
from ringrift_cli.store.loop_state import active_job_counts, config_facts, set_halted
from ringrift_cli.store.models import best_model, promote_in, register_model_in, reject_in
from ringrift_cli.store.queue import claim_in, complete_in, fail_in
from ringrift_cli.store.settings import store_setting

HOUR, DAY = 3600.0, 86_400.0
T0 = 1_800_000_000.0
STEP = 5 * 60.0                     # a tick every five minutes: 2,016 ticks in the week
CONFIGS = ("hex8_2p", "square8_2p")
SETTINGS = {
    "loop.configs": ",".join(CONFIGS), "loop.selfplay_backlog": 3, "loop.selfplay_games": 50,
    "loop.export_min_games": 150, "loop.export_max_age_seconds": 2 * HOUR, "loop.train_min_samples": 20_000,
    "breaker.failures": 3, "breaker.window_seconds": HOUR, "breaker.cooldown_seconds": HOUR,
    "retention.events_seconds": DAY, "retention.maintenance_seconds": 6 * HOUR,
    "queue.lease_seconds": 1800, "queue.max_attempts": 2, "queue.backoff_base_seconds": 60,
    "backpressure.unexported_hard": 5_000, "backpressure.untrained_hard": 10**7,
}
SAMPLES_PER_GAME = 40


def outcome(kind: str, t: float) -> str:
    """The script: what happens to a job of ``kind`` started at ``t``."""
    day = (t - T0) / DAY
    if kind == "train" and 2.0 <= day < 2.5:
        return "fail"
    if kind == "selfplay" and 3.0 <= day < 3.125:
        return "hang"
    if kind == "export" and 4.5 <= day < 4.6:
        return "fail"
    return "ok"


def halted_at(t: float) -> bool:
    return 4.0 <= (t - T0) / DAY < 4.25


def free_gb(t: float) -> float:
    return 1.0 if 5.0 <= (t - T0) / DAY < 5.2 else 500.0


def do_work(conn, job, t: float, serial: list[int]) -> None:
    """What each stage would leave behind, registered as a real stage registers it."""
    serial[0] += 1
    path = f"{job.kind}/{job.config_key}/{serial[0]}"
    if job.kind == "selfplay":
        register_artifact_in(conn, kind="games", config_key=job.config_key, path=path, sha256=str(serial[0]),
                             size=1, meta={"games": job.params["games"]}, job_id=job.id, at=t)
    elif job.kind == "export":
        pending = conn.execute(
            "SELECT a.id, json_extract(a.meta, '$.games') AS games FROM artifacts a WHERE a.kind = 'games'"
            " AND a.config_key = ? AND NOT EXISTS (SELECT 1 FROM artifact_inputs i WHERE i.input_id = a.id)",
            (job.config_key,)).fetchall()
        if pending:
            register_artifact_in(conn, kind="npz", config_key=job.config_key, path=path, sha256=str(serial[0]),
                                 size=1, meta={"samples": SAMPLES_PER_GAME * sum(r["games"] for r in pending)},
                                 job_id=job.id, inputs=tuple(r["id"] for r in pending), at=t)
    elif job.kind == "train":
        shards = conn.execute("SELECT id FROM artifacts WHERE kind = 'npz' AND config_key = ?",
                              (job.config_key,)).fetchall()
        artifact, _ = register_artifact_in(conn, kind="model", config_key=job.config_key, path=path,
                                           sha256=str(serial[0]), size=1, job_id=job.id,
                                           inputs=tuple(r["id"] for r in shards), at=t)
        register_model_in(conn, model_id=f"{serial[0]:064x}", config_key=job.config_key, artifact_id=artifact.id,
                          parent_id=None, metrics={}, lineage={}, encoder_version=1, job_id=job.id, at=t)
    elif job.kind == "promote":
        candidate = get_model_in_test(conn, job.params["model"])
        best = conn.execute("SELECT id FROM models WHERE config_key = ? AND status = 'best'",
                            (job.config_key,)).fetchone()
        # The script's gate: every other candidate passes.
        if serial[0] % 2 or best is None:
            promote_in(conn, candidate, best["id"] if best else None, {"scripted": True}, at=t)
        else:
            reject_in(conn, candidate, "scripted rejection", {"scripted": True}, at=t)


def get_model_in_test(conn, model_id):
    from ringrift_cli.store.models import Model

    return Model.from_row(conn.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone())


def run_workers(ctx, t: float, serial: list[int]) -> None:
    """Two workers each take one job per tick step and finish it by the script."""
    policy = ctx.queue_policy()
    for worker in ("w1", "w2"):
        with ctx.store.write() as conn:
            job = claim_in(conn, worker, ("selfplay", "export", "train", "eval", "promote"), policy, None, None, t)
            if job is None:
                continue
            result = outcome(job.kind, t)
            if result == "ok":
                do_work(conn, job, t, serial)
                complete_in(conn, job.id, worker, job.claim_seq, {"ok": True}, t + 1)
            elif result == "fail":
                fail_in(conn, job.id, worker, job.claim_seq, f"scripted {job.kind} failure", policy, t + 1)
            # "hang": left claimed; its lease runs out and a tick reaps it


def check_invariants(ctx, report, before, knobs, t: float) -> None:
    enqueued = [a for a in report.actions if a["action"] == "enqueue"]
    active = active_job_counts(ctx.store)
    for kind in ("export", "train"):
        for key in CONFIGS:
            assert sum(r.count for r in active if r.kind == kind and r.config_key == key) <= 1, (kind, key, t)
    evals = ctx.store.read("SELECT json_extract(params, '$.model') AS model, count(*) AS n FROM jobs"
                           " WHERE kind IN ('eval', 'promote') GROUP BY kind, model HAVING n > 1")
    assert not evals, "a model got two eval or promote jobs"
    assert sum(r.count for r in active if r.kind == "selfplay") <= knobs.selfplay_backlog
    if halted_at(t):
        assert not enqueued, f"enqueued while halted at day {(t - T0) / DAY:.2f}"
    if report.pressure == "hard":
        assert not [a for a in enqueued if a["kind"] == "selfplay"]
    for action in enqueued:
        breaker = before["breakers"].get(f"stage:{action['kind']}")
        assert not (breaker and breaker.state == "open" and breaker.retry_at > t), (action, breaker)
        facts = before["facts"][action["config_key"]]
        if action["kind"] == "export":
            old = facts.oldest_unexported_at is not None and t - facts.oldest_unexported_at >= knobs.export_max_age_seconds
            assert facts.unexported_games >= knobs.export_min_games or (facts.unexported_games and old)
        if action["kind"] == "train":
            assert facts.untrained_samples >= knobs.train_min_samples
        if action["kind"] == "eval":
            assert action["params"]["model"] in facts.candidates_to_eval
        if action["kind"] == "promote":
            assert action["params"]["model"] in facts.candidates_to_promote


@pytest.mark.slow
def test_a_simulated_week_keeps_every_invariant(home):
    with open_context(home) as ctx:
        for key, value in SETTINGS.items():
            store_setting(ctx.store, key, value)
    serial = [0]
    opened = set()
    with open_context(home) as ctx:
        knobs = loop_settings(ctx.setting)
        t = T0
        while t < T0 + 7 * DAY:
            if halted_at(t) != ctx.store.read("SELECT count(*) AS n FROM settings WHERE key = 'loop.halted'"
                                              " AND value = 'true'")[0]["n"]:
                set_halted(ctx.store, halted_at(t), "scripted halt" if halted_at(t) else "", t)
                ctx.__dict__.pop("effective_settings", None)  # settings changed: read them again
                knobs = loop_settings(ctx.setting)
            before = {"breakers": {b.scope: b for b in list_breakers(ctx.store)},
                      "facts": {key: config_facts(ctx.store, key) for key in CONFIGS}}
            report = run_tick(ctx, t, free=free_gb(t))
            assert report.ran and not report.errors
            check_invariants(ctx, report, before, knobs, t)
            for breaker in list_breakers(ctx.store):
                if breaker.state == "open":
                    opened.add(breaker.scope)
            run_workers(ctx, t, serial)
            t += STEP
        breakers = {b.scope: b.state for b in list_breakers(ctx.store)}
        # The script broke train, selfplay (hangs) and export, then let them recover.
        assert {"stage:train", "stage:selfplay", "stage:export"} <= opened
        assert all(state == "closed" for state in breakers.values()), breakers
        # Retention kept the events table to about its window, and the loop did real work.
        oldest = ctx.store.read("SELECT min(created_at) AS t FROM events")[0]["t"]
        assert oldest >= t - knobs.events_seconds - 2 * knobs.maintenance_seconds
        models = list_artifacts(ctx.store, "hex8_2p", "model")
        assert len(models) >= 5
        # Every candidate went through eval and promote: a best exists, the others were decided.
        assert best_model(ctx.store, "hex8_2p") is not None
        statuses = {row["status"] for row in ctx.store.read("SELECT status FROM models")}
        assert {"best", "retired", "rejected"} <= statuses
        undecided = ctx.store.read("SELECT count(*) AS n FROM models WHERE status = 'candidate'")[0]["n"]
        assert undecided <= len(CONFIGS)
        run_tick(ctx, t, free=free_gb(t))  # the games the last workers made
        facts = config_facts(ctx.store, "hex8_2p")
        exporting = sum(r.count for r in active_job_counts(ctx.store) if r.kind == "export")
        assert facts.unexported_games < knobs.export_min_games or exporting
