"""pytest fixtures shared by cache_sync's suite and the site's: the suite's real Redis emptied around
each test, a move of the page cache to another server, round-trip counting, a child's environment."""

from __future__ import annotations

import importlib
import os

import pytest
import redis
from django.conf import settings

from .env import database_url


def suite_cache() -> dict:
    """The cache as the settings module defines it, whatever a test moved it to."""
    return importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"]).CACHES["default"]


def _store():
    from cache_sync.conf import get_config
    from cache_sync.store.page_store import get_store

    return get_store(get_config().cache_alias)


def _delete_run_keys(attempts: int = 3) -> None:
    """Tried again on a timeout: the site's socket timeout (50 ms) suits a page read, not a SCAN on a
    machine busy with other suites (a test's setup failed on it)."""
    client = _store().client
    for attempt in range(attempts):
        try:
            keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
            if keys:
                client.delete(*keys)
            return
        except redis.TimeoutError:
            if attempt == attempts - 1:
                raise


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

    from cache_sync.store import stats

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
