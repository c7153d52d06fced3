"""Fills from a real, lagging streaming replica (issue 21, item 9). Run by test_replicas.py in a child
pytest with replica_settings.py, against a primary and a replica it started; not collected otherwise.

Replay is paused on the replica to force lag: the replica then receives the primary's WAL but shows
none of it, exactly as a replica that is seconds behind."""

from __future__ import annotations

import time

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.test import Client, RequestFactory

from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book
from cache_sync.wsgi import front_door

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


def on(alias: str, sql: str):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def wait_replayed() -> None:
    position = on("default", "SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + 30
    while not on("replica", f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn"):
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.01)


@pytest.fixture
def lagging():
    """`lagging()` pauses the replica's replay; it resumes at the end of the test whatever happens."""

    def pause() -> None:
        on("replica", "SELECT pg_wal_replay_pause()")
        while on("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
            time.sleep(0.01)

    yield pause
    on("replica", "SELECT pg_wal_replay_resume()")
    wait_replayed()


@pytest.fixture
def odes():
    book = factories.book(factories.shelf("poetry"), "odes", "Odes v1")
    wait_replayed()
    return book


def stored_pages(page_family, key: str) -> list[bytes]:
    return [value for name, value in page_family(key).items() if name.startswith(b"b:")]


def test_the_replica_serves_reads_and_the_pages_built_from_it_are_stored(odes, page_family):
    assert on("replica", "SELECT pg_is_in_recovery()") is True
    client = Client()
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "hit"
    assert "Odes v1" in response.content.decode()


def test_a_fill_while_the_replica_lags_reads_the_primary_and_is_stored(odes, lagging, page_family):
    client = Client()
    client.get("/books/odes/")  # cached at version 1
    lagging()
    Book.objects.filter(slug="odes").update(title="Odes v2")  # committed and invalidated on the primary
    assert Book.objects.using("replica").get(slug="odes").title == "Odes v1"  # the replica lags
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "miss"
    assert "Odes v2" in response.content.decode()  # read from the primary...
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "hit"  # ...and stored, as no read went to the replica
    assert "Odes v2" in response.content.decode()


def test_a_page_read_from_a_replica_behind_the_invalidation_is_never_stored(odes, lagging, page_family, settings):
    """With a router that ignores cache_sync (every read on the replica), the store itself refuses."""
    settings.DATABASE_ROUTERS = ["cache_sync.tests.replica_scenarios.AlwaysTheReplica"]
    client = Client()
    client.get("/books/odes/")
    lagging()
    Book.objects.using("default").filter(slug="odes").update(title="Odes v2")
    assert "Odes v1" in client.get("/books/odes/").content.decode()  # built from the lagging replica...
    assert stored_pages(page_family, "book:odes") == []  # ...and not stored
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    on("replica", "SELECT pg_wal_replay_resume()")
    wait_replayed()
    assert client.get("/books/odes/")["X-Cache"] == "miss"  # from the replica, now past the write: stored
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "hit"
    assert "Odes v2" in response.content.decode()


def test_a_writers_next_read_sees_its_write_while_the_replica_lags(odes, lagging):
    writer, stranger = Client(), Client()
    lagging()
    assert writer.post("/rename/odes/", {"title": "Odes v3"}).status_code == 200
    assert writer.get("/uncached-books/odes/").content.decode() == "Odes v3"  # from the primary
    assert stranger.get("/uncached-books/odes/").content.decode() == "Odes v1"  # the replica, still behind


def test_a_writer_reads_from_the_replica_again_once_it_has_replayed_the_write(odes, lagging):
    writer = Client()
    writer.post("/rename/odes/", {"title": "Odes v3"})
    wait_replayed()
    on("replica", "SELECT pg_wal_replay_pause()")  # a replica past the write: this one must be used
    Book.objects.using("default").filter(slug="odes").update(title="Odes v4")  # by another writer
    assert writer.get("/uncached-books/odes/").content.decode() == "Odes v3"


def test_a_miss_through_the_wsgi_layer_reads_from_the_primary_while_the_replica_lags(odes, lagging):
    """The layer takes the lease before Django: the routing it chose must last through the request."""
    app = front_door(get_wsgi_application())
    lagging()
    Book.objects.filter(slug="odes").update(title="Odes v2")
    answer = {}
    body = app(RequestFactory().get("/books/odes/").environ, lambda status, headers: answer.update(headers))
    assert "Odes v2" in b"".join(body).decode()
    assert answer["X-Cache"] == "miss"


class AlwaysTheReplica:
    def db_for_read(self, model, **hints):
        return "replica"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_migrate(self, db, app_label, **hints):
        return db == "default"
