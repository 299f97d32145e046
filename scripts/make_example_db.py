"""Write queue.db.example: a small, real state file to try `ringrift status --home queue.db.example` on.

Run from the repository root: python scripts/make_example_db.py
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

from ringrift_cli.store import create_store
from ringrift_cli.store import queue as q
from ringrift_cli.store.breakers import record_failure
from ringrift_cli.store.settings import store_setting

OUT = Path(__file__).resolve().parents[1] / "queue.db.example"


def fill(store) -> None:
    policy = dataclasses.replace(q.default_policy(), backoff_base_seconds=0)
    for key in ("hex8_2p", "square8_2p"):
        for shard in range(3):
            q.enqueue(store, q.JobSpec("selfplay", key, params={"games": 200, "model": "best"},
                                       dedup_key=f"selfplay-{key}-{shard}"))
    q.enqueue(store, q.JobSpec("export", "hex8_2p", priority=10))
    q.enqueue(store, q.JobSpec("train", "hex8_2p", priority=20, max_attempts=1))

    for worker in ("local:1201", "gpu1:88"):
        job = q.claim(store, worker, ("selfplay",), policy)
        q.complete(store, job.id, worker, job.attempts, {"games": 200, "moves": 14_512})
    q.claim(store, "gpu1:91", ("selfplay",), policy, lease_seconds=600)
    train = q.claim(store, "gpu2:17", ("train",), policy)
    q.fail(store, train.id, "gpu2:17", train.attempts, "RuntimeError: CUDA out of memory", policy)
    record_failure(store, "host:gpu2", "ssh: connect timed out", threshold=1, cooldown_seconds=900)
    store_setting(store, "queue.lease_seconds", 120.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue.db"
        store, _ = create_store(path)
        fill(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.conn.execute("VACUUM")
        store.close()
        OUT.write_bytes(path.read_bytes())
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
