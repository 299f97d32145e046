"""Claim and complete jobs until none is left; print each completed id (concurrency test)."""

import sys

from ringrift_cli.context import open_context
from ringrift_cli.store.queue import claim, complete

worker = sys.argv[1]
with open_context() as ctx:
    policy = ctx.queue_policy()
    while True:
        job = claim(ctx.store, worker, ("selfplay",), policy, lease_seconds=600)
        if job is None:
            break
        complete(ctx.store, job.id, worker, job.claim_seq, {"by": worker})
        print(job.id, flush=True)
