"""Shared fixtures: a real Redis, isolated per test run and emptied between tests."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches

from cache_sync.conf import get_config
from cache_sync.store import get_store

TEST_REDIS_DB = int(os.environ.get("REDIS_TEST_DB", "15"))

# Before any cache connection exists: a database number and a prefix of this run's own.
_location = settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[0]
settings.CACHES["default"]["LOCATION"] = f"{_location}/{TEST_REDIS_DB}"
settings.CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
_test_db = settings.DATABASES["default"].get("TEST", {}).get("NAME")
if _test_db:
    Path(_test_db).parent.mkdir(exist_ok=True)


def _delete_run_keys() -> None:
    client = get_store(get_config().cache_alias).client
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
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
    return get_store(get_config().cache_alias).client


@pytest.fixture
def page_family(redis_client):
    """The Redis hash that holds a rule key's pages: `page_family("home")`."""

    def family(key: str) -> dict[bytes, bytes]:
        return redis_client.hgetall(caches["default"].make_key(f"{{{key}}}"))

    return family


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

    from website.stack import database_url

    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_SETTINGS_MODULE": "website.settings",
    }


class OwnRedis:
    """A redis-server this test started, on a free port, with a snapshot directory of its own."""

    def __init__(self, workdir: Path) -> None:
        from website.stack import free_port

        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        import subprocess
        import time

        import redis

        from website.stack import redis_server_binary

        command = [
            redis_server_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--appendonly", "no", "--dir", str(self.workdir), "--dbfilename", "dump.rdb",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        import signal

        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        import signal

        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        import signal

        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cache_on(settings):
    """`cache_on(url)`: the page cache moves to the Redis at `url` for the rest of the test."""

    def move(url: str) -> None:
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}

    return move
