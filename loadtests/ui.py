"""Locust's web UI against a site of its own: `python -m loadtests.ui` (make loadtest-ui).

Never the dev data nor a shared Redis: a redis-server of its own (page cache and
oracle), a fresh SQLite database under .run/loadtest-ui/, gunicorn and a relay
started as `make loadtest` starts them (loadtests.run.site_under_test), and a staff
token of their own. Ctrl-C stops everything and deletes the database.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from loadtests.oracle import DEFAULT_ORACLE_DB, oracle_url
from loadtests.run import LOCUSTFILE, MODES, site_under_test
from loadtests.topology import stop
from tools.harness.ports import quiet_port
from tools.stack import RUN_DIR, private_redis


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="sync", help="cache mode of the site (sync)")
    parser.add_argument("--users", type=int, default=10, help="users proposed in the UI (10)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="users started per second (5)")
    parser.add_argument("--writers", type=float, default=0.2, help="share of users that write (0.2)")
    parser.add_argument("--web-port", type=int, default=0, help="port of the web UI (default: a free one)")
    parser.add_argument("--ttl", type=int, default=30, help="CACHE_SYNC_TIMEOUT of cached pages (30 s)")
    parser.add_argument("--categories", type=int, default=12)
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument("--profiles", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--signed-in", type=int, default=10, help="profiles whose sessions signed-in readers use")
    parser.add_argument("--signed-in-share", type=float, default=0.3, help="share of readers signed in (0.3)")
    args = parser.parse_args(argv)
    args.app_servers = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.pop("DATABASE_URL", None)  # a fresh SQLite file: never the dev database
    out = RUN_DIR / "loadtest-ui"
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):  # stop as on Ctrl-C: what we started stops too
        signal.signal(stop_signal, signal.default_int_handler)
    with private_redis() as redis_url:
        # Database 0 holds the pages, LOADTEST_ORACLE_DB the oracle, both on this private server.
        os.environ["LOADTEST_ORACLE_URL"] = oracle_url(redis_url, DEFAULT_ORACLE_DB)
        with site_under_test(args.mode, args, {"REDIS_URL": redis_url}, out) as (servers, env):
            host = servers.host
            web = f"127.0.0.1:{args.web_port or quiet_port()}"
            locust = [
                sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host,
                "--web-host", web.split(":")[0], "--web-port", web.split(":")[1],
                "-u", str(args.users), "-r", str(args.spawn_rate), "--loglevel", "WARNING",
            ]  # fmt: skip
            print(
                f"\nLocust web UI: http://{web}/  (site under test: {host}, mode {args.mode}; "
                "Ctrl-C stops everything)\nStale reads are failures of their requests; "
                "the Staleness tab counts checked and stale reads.\n",
                flush=True,
            )
            return run_until_interrupted(locust, env)


def run_until_interrupted(command: list[str], env: dict[str, str]) -> int:
    """Locust in a session of its own: Ctrl-C here stops it with SIGTERM, its clean way out, before
    the site and Redis stop."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        print("\nStopping Locust, the site and its Redis...", flush=True)
        stop(process)
        return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # during set-up: what was started has been stopped on the way out
        sys.exit(130)
