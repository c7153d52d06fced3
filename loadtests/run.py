"""Compare ttl, naive and sync under the same load: `python -m loadtests.run` (make loadtest).

For each mode: a fresh database (SQLite under the output folder, or DATABASE_URL,
which is flushed), migrate, seed, gunicorn with CACHE_SYNC_STRATEGY=<mode> on a
free port, Locust headless for the same duration and users, then a stuck-key
check with writes stopped. Writes loadtests/report/ (see README-section.md).
Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import redis

from loadtests.monitoring import append_report, summarize_watch, watching
from loadtests.oracle import Oracle, oracle_url_from_env
from loadtests.report import summarize, write_reports
from loadtests.site_pages import SiteMap
from loadtests.staleness import find_lags
from loadtests.topology import AppServers, app_servers, pages_redis, redis_client, stop
from silk_core.data_version import parse_data_version
from tools.harness.ports import quiet_port
from tools.stack import ensure_redis

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
MODES = ("ttl", "naive", "sync")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, help="seconds of load per mode (default 60, smoke 20)")
    parser.add_argument("--users", type=int, help="Locust users per mode (default 24, smoke 10)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: all in 2 s)")
    parser.add_argument("--writers", type=float, default=0.2, help="share of users that write (0.2)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of ttl,naive,sync")
    parser.add_argument("--smoke", action="store_true", help="short runs with few users")
    parser.add_argument("--out", default=str(ROOT / "loadtests" / "report"))
    parser.add_argument("--ttl", type=int, default=30, help="CACHE_SYNC_TIMEOUT of cached pages (30 s)")
    parser.add_argument("--categories", type=int, default=12)
    parser.add_argument("--products", type=int, default=600)
    parser.add_argument("--profiles", type=int, default=50)
    parser.add_argument(
        "--signed-in", type=int, default=10, help="profiles whose sessions signed-in readers use (0: none)"
    )
    parser.add_argument("--signed-in-share", type=float, default=0.3, help="share of readers signed in (0.3)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per app server")
    parser.add_argument("--topology", choices=("single", "cluster"), default="single", help="Redis of the pages")
    parser.add_argument("--app-servers", type=int, default=1, help="gunicorns behind a balancer (1)")
    parser.add_argument("--locust-workers", type=int, default=0, help="Locust in distributed mode: workers")
    parser.add_argument(
        "--faults", action="store_true", help="sync only, under a database restart, a migration, a Redis cut"
    )
    parser.add_argument("--redis-cut", type=float, default=5.0, help="seconds the pages' Redis pauses (--faults)")
    parser.add_argument("--db-down", type=float, default=0.0, help="seconds PostgreSQL stays down (--faults: 0)")
    parser.add_argument("--freshness-within-ms", type=float, default=100, help="the monitor's X (100 ms)")
    args = parser.parse_args(argv)
    args.duration = args.duration or (20 if args.smoke else 60)
    args.users = args.users or (10 if args.smoke else 24)
    args.spawn_rate = args.spawn_rate or max(1.0, args.users / 2)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(args.modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}; use {', '.join(MODES)}")
    if not 0 < args.writers < 1:
        parser.error("--writers is a share between 0 and 1")
    return args


def manage(env: dict[str, str], *command: str, log) -> None:
    subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=log, stderr=log)


def prepare_database(mode: str, out: Path, base_env: dict[str, str], args, log) -> tuple[str, Path | None]:
    if url := os.environ.get("DATABASE_URL"):
        create_postgres_database(url)
        manage({**base_env, "DATABASE_URL": url}, "migrate", "--noinput", "-v0", log=log)
        manage({**base_env, "DATABASE_URL": url}, "flush", "--noinput", "-v0", log=log)
        return url, None
    path = out / "db" / f"{mode}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(path)
    url = f"sqlite:///{path}"
    manage({**base_env, "DATABASE_URL": url}, "migrate", "--noinput", "-v0", log=log)
    return url, path


def create_postgres_database(url: str) -> None:
    """The load test's own PostgreSQL database, created when it does not exist yet."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def delete_cache_keys(pages_env: dict[str, str], prefix: str) -> None:
    client = redis_client(pages_env)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def get(url: str, timeout: float = 10) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status, dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, {}


def wait_until_answers(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if get(url, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def find_stuck_pages(oracle: Oracle, host: str) -> dict:
    """With writes stopped: every page showing a written object, read again and compared."""
    stored = oracle.get_json("sitemap")
    if stored is None:
        return {"pages_checked": 0, "stuck": 0, "examples": []}
    site = SiteMap.from_json(stored)
    checked, stuck = 0, []
    for key in oracle.pages_with_writes():
        for page in site.pages_of_key(key):
            expected = oracle.expected(page.key)
            status, headers = get(host + page.url)
            if status != 200:
                continue
            checked += 1
            lags = find_lags(parse_data_version(headers.get("X-Data-Version", "")), expected.v_min)
            if lags:
                lag = max(lags, key=lambda item: item.versions_behind)
                stuck.append(f"{page.url} ({headers.get('X-Cache')}): {lag.obj} v{lag.seen} < v{lag.v_min}")
    return {"pages_checked": checked, "stuck": len(stuck), "examples": stuck[:10]}


def read_locust_stats(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def run_locust(mode: str, args, host: str, env: dict[str, str], out: Path, oracle: Oracle) -> int:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.duration}s",
        "--host", host, "--csv", str(out / mode), "--html", str(out / f"{mode}.html"),
        "--only-summary", "--stop-timeout", "3", "--loglevel", "WARNING",
    ]  # fmt: skip
    workers = []
    if args.locust_workers:
        master_port = quiet_port()
        command += ["--master", "--expect-workers", str(args.locust_workers), "--master-bind-port", str(master_port)]
        worker = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--host", host]
        worker += ["--master-port", str(master_port), "--loglevel", "WARNING"]
    with (out / "logs" / f"{mode}-locust.log").open("w") as log:
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(args.locust_workers):
            workers.append(subprocess.Popen(worker, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        started = time.monotonic()
        next_report = started + 5
        try:
            while locust.poll() is None:
                if time.monotonic() - started > args.duration + 90:
                    raise RuntimeError("Locust did not stop in time")
                time.sleep(0.5)
                if time.monotonic() >= next_report:
                    next_report += 5
                    progress(mode, time.monotonic() - started, args.duration, oracle)
        finally:
            stop(locust)
            for process in workers:
                stop(process)
    print(flush=True)
    return locust.returncode


def progress(mode: str, elapsed: float, duration: int, oracle: Oracle) -> None:
    try:
        n = oracle.counts()
    except redis.RedisError:
        return
    line = (
        f"[{mode:5}] {min(elapsed, duration):5.0f}/{duration} s  reads {n.get('reads', 0):6}"
        f"  checked {n.get('checked', 0):6}  stale {n.get('stale', 0):5}  writes {n.get('writes', 0):5}"
    )
    end = "\r" if sys.stdout.isatty() else "\n"
    print(line, end=end, flush=True)


@contextlib.contextmanager
def site_under_test(mode: str, args, pages_env: dict[str, str], out: Path) -> Iterator[tuple[AppServers, dict]]:
    """A fresh database seeded for `mode`, its app servers (gunicorn and a relay each, behind a balancer
    when several) on free ports, with a cache key prefix and a staff token of their own: yields (app
    servers, environment); on exit everything stops and the mode's cache keys and SQLite file are deleted."""
    prefix = f"loadtest-{mode}-{secrets.token_hex(4)}"
    base_env = {
        **os.environ,
        **pages_env,
        "CACHE_SYNC_STRATEGY": mode,
        "CACHE_SYNC_TIMEOUT": str(args.ttl),
        "CACHE_KEY_PREFIX": prefix,
        "STAFF_API_TOKEN": secrets.token_urlsafe(24),
        "DJANGO_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "website.settings",
        "LOADTEST_WRITER_SHARE": str(args.writers),
        "LOADTEST_PROFILES": str(args.profiles),
    }
    (out / "logs").mkdir(parents=True, exist_ok=True)
    sqlite_path = None
    try:
        with (out / "logs" / f"{mode}-setup.log").open("w") as log:
            print(f"[{mode:5}] preparing the database and seeding", flush=True)
            database_url, sqlite_path = prepare_database(mode, out, base_env, args, log)
            env = {**base_env, "DATABASE_URL": database_url}
            seed = (
                "seed_catalog",
                "--seed",
                "1",
                "--categories",
                str(args.categories),
                "--products",
                str(args.products),
            )
            manage(env, *seed, log=log)
            command = [sys.executable, "-m", "loadtests.seed_users", "--count", str(args.profiles)]
            subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=log, stderr=log)
            env["LOADTEST_SESSIONS"] = signed_in_sessions(env, min(args.signed_in, args.profiles))
            env["LOADTEST_SIGNED_IN_SHARE"] = str(args.signed_in_share)
        delete_cache_keys(pages_env, prefix)
        with app_servers(args.app_servers, args.workers, env, out / "logs", mode) as servers:
            wait_until_answers(f"{servers.host}/", servers.processes[0])
            delete_cache_keys(pages_env, prefix)  # start cold: the probe above filled home
            yield servers, env
    finally:
        delete_cache_keys(pages_env, prefix)
        if sqlite_path:
            remove_sqlite(sqlite_path)
            with contextlib.suppress(OSError):
                sqlite_path.parent.rmdir()  # when empty


SESSIONS_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
from loadtests.site_pages import username
for name in [username(i) for i in range(1, %d + 1)]:
    client = Client()
    client.force_login(get_user_model().objects.get(username=name))
    print("session", name, client.cookies["sessionid"].value)
"""


def signed_in_sessions(env: dict[str, str], count: int) -> str:
    """Sessions of the first `count` profiles, signed as the site signs them: "name=cookie,..."."""
    if count <= 0:
        return ""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SESSIONS_SCRIPT % count],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return ",".join(
        f"{name}={cookie}"
        for _, name, cookie in (line.split() for line in out.splitlines() if line.startswith("session "))
    )


def run_mode(mode: str, args, pages_env: dict[str, str], out: Path) -> dict:
    oracle = Oracle.from_url(oracle_url_from_env())
    oracle.reset()
    with site_under_test(mode, args, pages_env, out) as (servers, env):
        host = servers.host
        print(f"[{mode:5}] {args.app_servers} app server(s) at {host}; Locust: {args.users} users for "
              f"{args.duration} s", flush=True)  # fmt: skip
        with watching(host, env, out, mode, args.freshness_within_ms) as watch:
            returncode = run_locust(mode, args, host, env, out, oracle)
        answered = servers.requests_per_server()
        stuck = find_stuck_pages(oracle, host)
        print(f"[{mode:5}] stuck pages: {stuck['stuck']} of {stuck['pages_checked']}", flush=True)
        oracle_results = oracle.results()
        return summarize(
            mode,
            oracle_results,
            read_locust_stats(out / f"{mode}_stats.csv"),
            stuck,
            duration=args.duration,
            locust_returncode=returncode,
            failure_rows=read_locust_stats(out / f"{mode}_failures.csv"),
            requests_per_app_server=answered,
        ) | summarize_watch(watch, oracle_results)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.faults:
        from loadtests.fault_run import main as run_under_faults

        return run_under_faults(args)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is set: that database is flushed and seeded for each mode.")
    with ensure_redis() as redis_url:
        os.environ["REDIS_URL"] = redis_url
        # The oracle stays on this Redis whatever holds the pages: Locust's processes find it here.
        os.environ["LOADTEST_ORACLE_URL"] = oracle_url_from_env()
        results = {}
        with pages_redis(args.topology, redis_url) as pages_env:
            for mode in args.modes:
                results[mode] = run_mode(mode, args, pages_env, out)
        table = write_reports(results, vars(args), out)
    print(table)
    print(append_report(results, out))
    print(f"Report: {out}/summary.md, summary.json, stale_reads.png, <mode>.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
