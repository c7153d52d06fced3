"""No page is stored from a snapshot older than its lease (issue 21, item 8).

Under ATOMIC_REQUESTS with a snapshot per transaction (PostgreSQL REPEATABLE READ, SQLite
whose deferred transaction takes its snapshot at its first read), a signed-in reader loads its
session inside the view's transaction. A write that commits and is invalidated after that load
but before the lease is missing from the page: that page must never be stored.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.test import Client

from cache_sync.tests import factories
from cache_sync.tests.helpers import run_suite_on
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes v1")


@pytest.fixture
def one_snapshot_per_request():
    """ATOMIC_REQUESTS, and a transaction that keeps the snapshot of its first read."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(connection.settings_dict)
    saved_options = dict(options)
    connection.close()
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import IsolationLevel

        options["isolation_level"] = IsolationLevel.REPEATABLE_READ
    else:
        options.pop("transaction_mode", None)  # DEFERRED: the snapshot is taken at the first read
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)
    options.clear()
    options.update(saved_options)
    connection.settings_dict["OPTIONS"] = options


def commit_a_write_after_the_session_loads(monkeypatch, title: str) -> threading.Thread:
    """The first session load of this thread lets a writer commit (and invalidate) before it returns."""
    loaded, written = threading.Event(), threading.Event()
    original = SessionStore.load

    def load_then_let_a_write_in(self):
        data = original(self)
        if not loaded.is_set():
            loaded.set()
            assert written.wait(10), "the writer did not commit"
        return data

    def writer():
        try:
            assert loaded.wait(10), "the reader never loaded its session"
            Book.objects.filter(slug="odes").update(title=title)  # autocommit: delivered at once
        finally:
            written.set()
            connection.close()

    monkeypatch.setattr(SessionStore, "load", load_then_let_a_write_in)
    thread = threading.Thread(target=writer)
    thread.start()
    return thread


def test_a_signed_in_page_is_never_stored_from_a_snapshot_older_than_its_lease(
    odes, django_user_model, monkeypatch, one_snapshot_per_request
):
    client = Client()
    client.force_login(django_user_model.objects.create_user("alice"))
    writer = commit_a_write_after_the_session_loads(monkeypatch, "Odes v2")
    client.get("/books/odes/")
    writer.join(10)
    monkeypatch.undo()
    response = client.get("/books/odes/")
    assert "Odes v2" in response.content.decode(), f"{response['X-Cache']} of the page at version 1"


def test_an_anonymous_page_is_never_stored_from_a_snapshot_older_than_its_lease(odes, one_snapshot_per_request):
    """Read inside a transaction that took its snapshot before a write committed and was invalidated."""
    client = Client()
    done = threading.Event()

    def writer():
        try:
            Book.objects.filter(slug="odes").update(title="Odes v2")
        finally:
            done.set()
            connection.close()

    with transaction.atomic():
        assert Book.objects.get(slug="odes").title == "Odes v1"  # the snapshot
        threading.Thread(target=writer).start()
        assert done.wait(10)
        assert "Odes v1" in client.get("/books/odes/").content.decode()  # built from the snapshot
    response = client.get("/books/odes/")
    assert "Odes v2" in response.content.decode(), f"{response['X-Cache']} of the page at version 1"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not say whether a transaction has read")
def test_a_page_whose_repeatable_read_snapshot_follows_its_lease_is_stored(odes, one_snapshot_per_request):
    client = Client()
    with transaction.atomic():
        client.get("/books/odes/")  # the lease, then the transaction's first read
    assert client.get("/books/odes/")["X-Cache"] == "hit"


def test_a_signed_in_page_read_under_atomic_requests_is_stored(odes, django_user_model, one_snapshot_per_request):
    """The front door reads it before the view's transaction begins, so its snapshot follows the lease."""
    client = Client()
    client.force_login(django_user_model.objects.create_user("alice"))
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "hit"
    assert response["Cache-Control"] == "private"


def test_a_page_for_a_visitor_with_an_anonymous_session_under_atomic_requests_is_stored(odes, one_snapshot_per_request):
    client = Client()
    session = SessionStore()
    session["cart"] = ["odes"]
    session.save()
    client.cookies["sessionid"] = session.session_key
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    assert client.get("/books/odes/")["X-Cache"] == "hit"


def test_a_signed_in_miss_takes_one_lease(odes, django_user_model, monkeypatch):
    """The front door's read is the request's: the decorator does not take a second lease."""
    from cache_sync.store.page_store import PageStore

    reads = []
    original = PageStore.read

    def counting(self, *args, **kwargs):
        reads.append(args[0])
        return original(self, *args, **kwargs)

    client = Client()
    client.force_login(django_user_model.objects.create_user("alice"))
    monkeypatch.setattr(PageStore, "read", counting)
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    assert reads == ["book:odes"]


def test_a_page_built_inside_a_transaction_that_wrote_is_never_stored(odes):
    """Even under READ COMMITTED, whose snapshots follow the lease: the page shows a write not committed."""
    client = Client()
    with pytest.raises(RuntimeError), transaction.atomic():
        Book.objects.filter(slug="odes").update(title="Uncommitted")
        assert "Uncommitted" in client.get("/books/odes/").content.decode()
        raise RuntimeError("rolled back")
    assert "Uncommitted" not in client.get("/books/odes/").content.decode()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="this suite runs on PostgreSQL already")
def test_these_tests_pass_on_a_private_postgresql_too(postgres_servers, site_env):
    """On a SQLite run, the PostgreSQL half (REPEATABLE READ) runs on a private primary, in a child pytest."""
    run_suite_on(
        postgres_servers.primary.url("snapshots"), Path(__file__), settings="cache_sync.tests.settings", env=site_env
    )
