"""The relay as deployed (`manage.py cache_sync relay`) outlives a restart of its PostgreSQL server.

The server is a private one (tools/harness/postgres.py) that the test restarts under the running
relay; the changes are written through connections Django never sees, so only the relay delivers
them. Skipped where PostgreSQL's server binaries are missing.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from cache_sync.tests.helpers import python_path

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "relay_restart"
DELIVERY_TIMEOUT = 20.0  # seconds: the relay backs off up to 2 s between attempts while the server is down


@pytest.fixture
def private_site(own_postgres):
    """The environment of a process of the test app on the private server, migrated (triggers installed)."""
    import psycopg

    with psycopg.connect(own_postgres.primary.dsn(), autocommit=True) as server:
        server.execute(f"CREATE DATABASE {DATABASE}")
    cache = settings.CACHES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cache_sync.tests.settings",
        "PYTHONPATH": python_path(ROOT),
        "DATABASE_URL": own_postgres.primary.url(DATABASE),
        "REDIS_URL": cache["LOCATION"],
        "CACHE_KEY_PREFIX": cache["KEY_PREFIX"],  # the families this process reads are the relay's
    }
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    return env


def write_outside_django(env: dict, sql: str, params: list) -> None:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as outsider:
        outsider.execute(sql, params)


def delivered_within(timeout: float, family_exists) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not family_exists():
            return True
        time.sleep(0.05)
    return False


def test_the_relay_delivers_after_its_database_server_restarts(own_postgres, private_site, redis_client):
    from cache_sync.store.page_store import get_store

    family = get_store("default").family("book:odes")

    def cache_a_page() -> None:
        redis_client.hset(family, "page", "an old page of the odes")

    write_outside_django(private_site, "INSERT INTO testapp_shelf (slug, name) VALUES ('poetry', 'Poetry')", [])
    write_outside_django(
        private_site,
        "INSERT INTO testapp_book (slug, title, shelf_id, times_opened) "
        "SELECT 'odes', 'Odes', id, 0 FROM testapp_shelf",
        [],
    )
    relay = subprocess.Popen(
        [sys.executable, "-m", "django", "cache_sync", "relay"],
        env=private_site, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert b"Relaying" in relay.stdout.readline()
        cache_a_page()
        write_outside_django(private_site, "UPDATE testapp_book SET title = 'Before the restart'", [])
        assert delivered_within(DELIVERY_TIMEOUT, lambda: redis_client.exists(family)), "delivered before"

        own_postgres.primary.restart()
        cache_a_page()
        write_outside_django(private_site, "UPDATE testapp_book SET title = 'After the restart'", [])
        assert delivered_within(DELIVERY_TIMEOUT, lambda: redis_client.exists(family)), "delivered after"
        assert relay.poll() is None, "the relay exited"
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(15)
    assert b"Relay lost its connection" in relay.stderr.read()
