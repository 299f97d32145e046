"""Hash files as they land, while rsync is still sending the rest: the check overlaps the transfer.

rsync gives a file its final name only once it is whole, so a file seen under its final name can be
hashed at once. Each file is hashed whenever it appears or changes (inode, size, modification or
change time) until it has its expected sha256; when the transfer has ended, whatever changed since
its last hash is hashed again, so the answer is about the files as they are at the end.

The receiving end runs this: a pull in a thread here (``watch``), a push on the host by its python3
(``python3 -c`` with this file's text; ``main`` reads the request on stdin). So this module uses the
standard library only.
"""

import hashlib
import json
import os
import select
import sys


def watch(root, wanted, ended):
    """{path: sha256} of the ``wanted`` paths ({path: expected sha256}, relative to ``root``) present
    once ``ended(seconds)`` (wait at most that long; True once the transfer has ended) says so."""
    seen = {}
    while True:
        pending = [path for path, digest in wanted.items() if seen.get(path, (None, None))[1] != digest]
        for path in pending:
            _look(root, path, seen)
        # A long list is scanned less often: its opens would otherwise take a core.
        if ended(min(1.0, 0.05 + len(pending) / 2000)):
            break
    for path in wanted:
        _look(root, path, seen)
    return {path: seen[path][1] for path in wanted if path in seen}


def _look(root, path, seen):
    try:
        with open(os.path.join(root, path), "rb") as handle:
            stat = os.fstat(handle.fileno())
            key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            if path in seen and seen[path][0] == key:
                return
            digest = hashlib.sha256()
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
            seen[path] = (key, digest.hexdigest())
    except OSError:
        seen.pop(path, None)


def main():
    """On the host: argv[1] the root; stdin one JSON line [[path, sha256], ...], then "go" once the
    transfer has ended (stdin closed without it: the batch was abandoned, exit quietly); prints the
    {path: sha256} found."""
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    received = [b""]

    def read(seconds):
        if seconds is not None and not select.select([0], [], [], seconds)[0]:
            return False
        chunk = os.read(0, 1 << 16)
        if not chunk:
            sys.exit(0)
        received[0] += chunk
        return True

    while b"\n" not in received[0]:
        read(None)
    header, _, received[0] = received[0].partition(b"\n")

    def ended(seconds):
        if b"\n" not in received[0]:
            read(seconds)
        return b"\n" in received[0]

    found = watch(root, dict(json.loads(header)), ended)
    if received[0].startswith(b"go\n"):
        print(json.dumps(found))


if __name__ == "__main__":
    main()
