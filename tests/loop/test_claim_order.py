"""Which host claims which job first: GPU hosts before CPU hosts, train first on GPU hosts."""

from __future__ import annotations

from ringrift_cli.loop.hosts_step import HostKnobs, claim_order, next_job
from ringrift_cli.remote.hosts_file import Host
from ringrift_cli.store import queue as q

GPU = Host(name="gpu", ssh="u@gpu.example:22", slots=1, gpus=2)
CPU = Host(name="cpu", ssh="u@cpu.example:22", slots=4)
KINDS = ("selfplay", "train")


def test_gpu_hosts_claim_first_and_try_train_before_the_rest():
    other_gpu = Host(name="gpu2", ssh="u@gpu2.example:22", gpus=1)
    order = claim_order([CPU, other_gpu, GPU], KINDS)
    assert [(host.name, groups) for host, groups in order] == [
        ("gpu", (("train",), ("selfplay",))),
        ("gpu2", (("train",), ("selfplay",))),
        ("cpu", (("selfplay", "train"),)),
    ]


def test_roles_decide_what_a_host_tries_and_a_host_with_none_is_left_out():
    selfplay_gpu = Host(name="g", ssh="u@g.example:22", gpus=1, roles=("selfplay",))
    train_gpu = Host(name="t", ssh="u@t.example:22", gpus=1, roles=("train",))
    eval_only = Host(name="e", ssh="u@e.example:22", roles=("eval",))
    order = claim_order([eval_only, selfplay_gpu, train_gpu, CPU], KINDS)
    assert [(host.name, groups) for host, groups in order] == [
        ("g", (("selfplay",),)), ("t", (("train",),)), ("cpu", (("selfplay", "train"),))]


def claim_round(ctx, hosts):
    """What dispatch claims in one tick, minus the SSH: each host in claim order fills its free slots."""
    knobs = HostKnobs(lease_seconds=60, heartbeat_seconds=10, breaker_failures=3, breaker_cooldown_seconds=60)
    claimed = {}
    for host, groups in claim_order(hosts, KINDS):
        for _ in range(host.slots):
            job = next_job(ctx, host, groups, ctx.queue_policy(), knobs)
            if job is not None:
                claimed.setdefault(host.name, []).append(job.kind)
    return claimed


def test_a_train_job_goes_to_the_gpu_host_even_behind_more_urgent_selfplay(ctx):
    for kind, priority in (("selfplay", 90), ("selfplay", 80), ("train", 10)):
        q.enqueue(ctx.store, q.JobSpec(kind, "hex8_2p", params={}, priority=priority))
    assert claim_round(ctx, [CPU, GPU]) == {"gpu": ["train"], "cpu": ["selfplay", "selfplay"]}


def test_train_falls_back_to_a_cpu_host_once_the_gpu_hosts_are_full(ctx):
    for _ in range(2):
        q.enqueue(ctx.store, q.JobSpec("train", "hex8_2p", params={}))
    assert claim_round(ctx, [CPU, GPU]) == {"gpu": ["train"], "cpu": ["train"]}
