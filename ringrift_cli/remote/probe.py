"""``hosts check``: probe each host over its transport, in parallel, and judge whether it can work.

A host is
- ``unreachable`` when it cannot be reached or refused us (an unknown or changed host key included);
- ``unusable`` when it answers but cannot run our jobs: ringrift missing or a different version, a
  different encoder (its games and models would not fit ours) or state-file schema;
- ``low_disk`` when it has less free disk than its ``min_free_gb`` (nothing is pushed to it);
- ``ok`` otherwise.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .hosts_file import Host
from .machine import BadDescription, MachineFacts, our_versions, read_description
from .transport import Transport, TransportError, open_transport

GB = 1 << 30
MAX_PARALLEL = 32
HEALTHS = ("ok", "low_disk", "unusable", "unreachable")


@dataclass(frozen=True)
class HostReport:
    host: str
    health: str
    reason: str | None
    latency_ms: float | None  # one command's round trip on an open connection
    facts: MachineFacts | None

    @property
    def reachable(self) -> bool:
        return self.health != "unreachable"


def check_hosts(hosts: list[Host], *, timeout: float) -> list[HostReport]:
    """Probe every host at once; reports in the order of ``hosts``."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(hosts))) as pool:
        return list(pool.map(lambda host: probe_host(host, timeout=timeout), hosts))


def probe_host(host: Host, *, timeout: float) -> HostReport:
    try:
        with open_transport(host) as transport:
            return _probe(transport, timeout)
    except TransportError as exc:
        return HostReport(host.name, "unreachable", str(exc), None, None)


def _probe(transport: Transport, timeout: float) -> HostReport:
    host = transport.host
    transport.run(["true"], timeout=timeout)  # opens the connection: not part of the round trip
    started = time.perf_counter()
    transport.run(["true"], timeout=timeout)
    latency_ms = (time.perf_counter() - started) * 1000

    def unusable(reason: str, facts: MachineFacts | None = None) -> HostReport:
        return HostReport(host.name, "unusable", reason, latency_ms, facts)

    ours = our_versions()
    version = transport.run([*host.command_words, "--version"], timeout=timeout)
    if not version.ok:
        return unusable(f"`{host.command} --version` failed (exit {version.exit_code}): "
                        f"{(version.stderr or version.stdout).strip()[-200:]}")
    if version.stdout.strip() != f"ringrift {ours[0]}":
        return unusable(f"runs {version.stdout.strip()[:80]!r}, this controller ringrift {ours[0]}: "
                        "install the same ringrift on both")
    described = transport.run([*host.command_words, "hosts", "describe", "--json", "--home", host.home],
                              timeout=timeout)
    if not described.ok:
        return unusable(f"`{host.command} hosts describe` failed (exit {described.exit_code}): "
                        f"{(described.stderr or described.stdout).strip()[-200:]}")
    try:
        facts = read_description(described.stdout)
    except BadDescription as exc:
        return unusable(f"`{host.command} hosts describe` answered nonsense: {exc}")
    mismatch = version_mismatch(facts, ours)
    if mismatch:
        return unusable(mismatch, facts)
    if facts.free_disk_bytes < host.min_free_gb * GB:
        return HostReport(host.name, "low_disk", f"{facts.free_disk_bytes / GB:.1f} GB free at {host.home}, "
                          f"below its min_free_gb {host.min_free_gb:.12g}", latency_ms, facts)
    return HostReport(host.name, "ok", None, latency_ms, facts)


def version_mismatch(facts: MachineFacts, ours: tuple[str, int, int]) -> str | None:
    """Why the host's versions cannot work with ours, or None when they match."""
    theirs = (facts.ringrift, facts.encoder_version, facts.schema_version)
    for what, mine, other in zip(("ringrift", "encoder version", "state-file schema version"), ours, theirs):
        if mine != other:
            return f"runs {what} {other}, this controller {mine}: install the same ringrift on both"
    return None
