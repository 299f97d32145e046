"""The fixture's servers are real: the system ssh client logs in with the generated key and checks
the generated host key."""

from __future__ import annotations

import subprocess


def ssh(lab, server, *command, known_hosts=None):
    return subprocess.run(
        ["ssh", "-F", "none", "-p", str(server.port), "-i", str(lab.client_key), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts or lab.known_hosts}",
         "-o", "GlobalKnownHostsFile=/dev/null", "root@127.0.0.1", *command],
        capture_output=True, text=True, timeout=30,
    )


def test_both_servers_accept_the_client_key_and_run_ringrift(ssh_lab):
    assert len({server.port for server in ssh_lab.servers}) == 2
    for server in ssh_lab.servers:
        result = ssh(ssh_lab, server, str(ssh_lab.ringrift), "--version")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ringrift ")


def test_servers_present_their_own_host_keys(ssh_lab, tmp_path):
    first, second = ssh_lab.servers
    assert first.host_key != second.host_key
    swapped = tmp_path / "swapped_known_hosts"
    swapped.write_text(f"[127.0.0.1]:{first.port} {second.host_key}\n")
    result = ssh(ssh_lab, first, "true", known_hosts=swapped)
    assert result.returncode == 255 and "HOST IDENTIFICATION HAS CHANGED" in result.stderr
