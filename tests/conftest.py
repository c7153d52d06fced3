"""Shared fixtures: a real Redis, isolated per test run and emptied between tests."""

from __future__ import annotations

import os
import uuid

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
