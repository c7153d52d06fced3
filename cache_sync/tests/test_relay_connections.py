"""The relay never exits on a lost connection: LISTEN's, Django's, Redis's, or an error nobody foresaw.

Each test runs the relay for real (a thread of this process), breaks one of its
connections from outside, and then checks that a change only the relay can
deliver (written through a connection Django never sees, or left by a writer
that could not reach Redis) still reaches the cache.
"""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from cache_sync.delivery import delivery, relay, waiters
from cache_sync.models import OutboxEntry, RelayHeartbeat
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page, python_path
from cache_sync.tests.relay_threads import RunningRelay, eventually
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]  # where `cache_sync` is importable from
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="LISTEN, backends to terminate: PostgreSQL's")


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


def write_outside_django(title: str) -> None:
    """An UPDATE through a psycopg connection of its own: recorded by the triggers, delivered by no writer."""
    import psycopg

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as outsider:
        outsider.execute("UPDATE testapp_book SET title = %s WHERE slug = 'odes'", [title])


def relay_backends(listening: bool) -> list[int]:
    """The relay's backends: its LISTEN connection, or its Django connection (everyone else's but ours)."""
    condition = "LIKE" if listening else "NOT LIKE"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            f"AND backend_type = 'client backend' AND query {condition} %s",
            ["LISTEN%"],
        )
        return [pid for (pid,) in cursor.fetchall()]


def terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@postgres_only
def test_the_relay_reconnects_after_its_listen_connection_is_terminated(client, odes, caplog):
    cached(client, "/books/odes/")
    with RunningRelay():
        eventually(lambda: relay_backends(listening=True), "the relay listens")
        [listener] = relay_backends(listening=True)
        terminate([listener])
        eventually(lambda: relay_backends(listening=True) not in ([], [listener]), "a new LISTEN connection")
        write_outside_django("Written after the LISTEN connection died")
        eventually(lambda: "after the LISTEN" in page(client, "/books/odes/"), "the relay delivers")
    assert "Relay lost its connection to database 'default'" in caplog.text
    assert "Relay reconnected to database 'default'" in caplog.text


@postgres_only
def test_the_relay_reconnects_after_its_django_connection_is_terminated(client, odes, caplog):
    cached(client, "/books/odes/")
    with RunningRelay():
        eventually(lambda: relay_backends(listening=True), "the relay listens")
        eventually(lambda: relay_backends(listening=False), "the relay's Django connection is open")
        terminate(relay_backends(listening=False))
        write_outside_django("Written after Django's connection died")
        eventually(lambda: "after Django's connection" in page(client, "/books/odes/"), "the relay delivers")
    assert "Relay lost its connection to database 'default'" in caplog.text


@postgres_only
def test_the_relay_reconnects_after_an_idle_session_timeout_closes_its_listener(client, odes, monkeypatch, caplog):
    opened = []
    open_listener = waiters._PostgresNotifications.__init__

    def with_idle_timeout(self, using):
        open_listener(self, using)
        if not opened:  # the first listener only: the server ends it once it idles 200 ms
            self.listener.execute("SET idle_session_timeout = '200ms'")
        opened.append(self)

    monkeypatch.setattr(waiters._PostgresNotifications, "__init__", with_idle_timeout)
    cached(client, "/books/odes/")
    with RunningRelay():
        eventually(lambda: len(opened) >= 2, "the relay opens a second listener")
        write_outside_django("Written after the idle timeout")
        eventually(lambda: "after the idle timeout" in page(client, "/books/odes/"), "the relay delivers")
    assert "Relay lost its connection to database 'default'" in caplog.text


def test_a_waiter_whose_connection_died_is_replaced_and_the_relay_delivers_at_once(odes, monkeypatch, caplog):
    """Whatever the database (LISTEN on PostgreSQL, data_version on SQLite): a dead waiter is reopened."""
    opened = []
    open_waiter = waiters.open_waiter

    def first_one_dead(using):
        opened.append(using)
        if len(opened) > 1:
            return open_waiter(using)

        def dead():
            raise OSError("connection reset by peer")  # for ever, like a closed socket

        return dead

    monkeypatch.setattr(waiters, "open_waiter", first_one_dead)
    with RunningRelay():
        eventually(lambda: len(opened) >= 2, "a second waiter")
        OutboxEntry.objects.create(model="cache_sync.keys", data='{"keys": ["home"]}')
        eventually(lambda: not OutboxEntry.objects.exists(), "the relay delivers")
    assert "Relay reconnected to database 'default'" in caplog.text


def test_the_relay_logs_an_unexpected_error_with_its_traceback_and_keeps_delivering(odes, monkeypatch, caplog):
    failures = []
    deliver = delivery.deliver

    def fails_once(changes, using):
        if changes and not failures:
            failures.append(changes)
            raise RuntimeError("a bug in a rule's rendering")
        return deliver(changes, using)

    monkeypatch.setattr(delivery, "deliver", fails_once)
    OutboxEntry.objects.create(model="cache_sync.keys", data='{"keys": ["shelf:poetry"]}')
    with caplog.at_level(logging.ERROR, logger="cache_sync.delivery.relay"), RunningRelay():
        eventually(lambda: failures and not OutboxEntry.objects.exists(), "delivered after the failure")
    [record] = [r for r in caplog.records if r.name == "cache_sync.delivery.relay" and r.levelno == logging.ERROR]
    assert "Relay failed unexpectedly" in record.getMessage()
    assert record.exc_info is not None


def test_the_relay_keeps_running_through_a_redis_outage_and_delivers_when_redis_returns(
    client, odes, own_redis, cache_on, settings, monkeypatch, caplog
):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "REDIS_BACKOFF": 0.2}
    monkeypatch.setattr(relay, "HOUSEKEEPING_EVERY", 0.0)  # a heartbeat every round
    cache_on(own_redis.url)
    cached(client, "/books/odes/")
    with RunningRelay() as running:
        own_redis.pause()
        Book.objects.update(title="Written while Redis was paused")  # the writer times out: the relay must deliver
        assert OutboxEntry.objects.exists()
        eventually(lambda: relay_failed(), "the relay meets the outage")
        own_redis.resume()
        eventually(lambda: not OutboxEntry.objects.exists(), "the relay delivers after the outage")
        assert running.thread.is_alive()
    assert "while Redis was paused" in page(client, "/books/odes/")
    said = [r.getMessage() for r in caplog.records if r.name == "cache_sync.delivery.relay"]
    assert sum("Relay cannot reach Redis" in message for message in said) == 1  # once per outage
    assert any("Relay reached Redis again" in message for message in said)


def relay_failed() -> bool:
    return RelayHeartbeat.objects.filter(error__startswith="Redis unavailable").exists()


@postgres_only
def test_the_relay_command_outlives_the_termination_of_all_its_connections(client, odes, site_env):
    """`manage.py cache_sync relay` as deployed: both its connections killed at once, it keeps delivering."""
    env = {**site_env, "DJANGO_SETTINGS_MODULE": "cache_sync.tests.settings", "PYTHONPATH": python_path(ROOT)}
    cached(client, "/books/odes/")
    command = [sys.executable, "-m", "django", "cache_sync", "relay"]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"Relaying" in process.stdout.readline()
        eventually(lambda: relay_backends(listening=True), "the relay listens")
        eventually(lambda: relay_backends(listening=False), "the relay's Django connection is open")
        terminate(relay_backends(listening=True) + relay_backends(listening=False))
        write_outside_django("Written after both connections died")
        eventually(lambda: "after both connections" in page(client, "/books/odes/"), "the relay delivers")
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert b"Relay lost its connection to database 'default'" in process.stderr.read()
