"""The stale-set guard and the stampede guard of the read path, on real Redis."""

import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from cache_sync.pages import decorator as pages
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from cache_sync.tests.testapp import views
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


def strategy(name: str):
    return override_settings(CACHE_SYNC_LOAD_TEST_BASELINE=name)


def in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


@pytest.mark.parametrize(("name", "old_page_survives"), [("sync", False), ("naive", True)])
def test_builder_that_read_before_a_write_cannot_store_its_old_page(monkeypatch, odes, name, old_page_survives):
    """A reader reads the row, pauses before its cache write, a write commits, the reader resumes.

    Without the guard (the naive strategy) the old page is stored after the
    write's invalidation and stays until its TTL: the test shows it, so it can fail.
    """
    has_read, write_committed = threading.Event(), threading.Event()
    render = pages._render

    def pause_after_database_read(response):
        if threading.current_thread() is not threading.main_thread():
            has_read.set()
            assert write_committed.wait(10)
        return render(response)

    monkeypatch.setattr(pages, "_render", pause_after_database_read)
    with strategy(name):
        builder = in_thread(lambda: Client().get("/books/odes/"))
        assert has_read.wait(10)
        Book.objects.update(title="New Odes")
        write_committed.set()
        builder.join(10)
        shown = Client().get("/books/odes/").content.decode()
    assert ("New Odes" not in shown) is old_page_survives


@pytest.fixture
def slow_builds(monkeypatch, odes):
    """Builds of the book page, each made slow so that concurrent readers miss together."""
    builds = []
    lookup = views.get_object_or_404

    def slow_counted_lookup(*args, **kwargs):
        builds.append(1)
        threading.Event().wait(0.1)
        return lookup(*args, **kwargs)

    monkeypatch.setattr(views, "get_object_or_404", slow_counted_lookup)
    return builds


def test_twenty_concurrent_misses_build_the_page_once(slow_builds):
    start = threading.Barrier(20)
    responses = []

    def read():
        start.wait()
        responses.append(Client().get("/books/odes/"))

    for thread in [in_thread(read) for _ in range(20)]:
        thread.join(10)
    assert len(slow_builds) == 1
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r["X-Cache"] for r in responses) == ["hit"] * 19 + ["miss"]


def test_without_the_guard_concurrent_misses_stampede(slow_builds):
    start = threading.Barrier(5)

    def read():
        start.wait()
        Client().get("/books/odes/")

    with strategy("naive"):
        for thread in [in_thread(read) for _ in range(5)]:
            thread.join(10)
    assert len(slow_builds) > 1


def test_a_build_slower_than_its_lease_is_not_stored(slow_builds, page_family, django_user_model):
    """A store after the lease deadline is refused: it bounds how old a stored page's data can be."""
    signed_in = Client()
    signed_in.force_login(django_user_model.objects.create_user("alice"))
    signed_in.get("/books/odes/")  # another variant keeps the family alive past the lease
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "LEASE_TIMEOUT": 0.05}):
        assert Client().get("/books/odes/")["X-Cache"] == "miss"  # the build takes 0.1 s
        assert not any(field.startswith(b"b:anon") for field in page_family("book:odes"))
    assert Client().get("/books/odes/")["X-Cache"] == "miss"
    assert Client().get("/books/odes/")["X-Cache"] == "hit"


def test_a_failing_build_releases_its_lease(monkeypatch, odes, page_family):
    monkeypatch.setattr(views, "HttpResponse", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        Client().get("/books/odes/")
    assert not any(field.startswith(b"l:") for field in page_family("book:odes"))


def test_a_lease_left_by_a_builder_that_died_expires_with_its_family(monkeypatch, odes, redis_client):
    """The family that holds only a lease gets the lease's expiry, so a dead builder blocks nobody for long."""
    from cache_sync.conf import get_config
    from cache_sync.store.page_store import get_store

    store = get_store(get_config().cache_alias)
    result = store.read("book:odes", "anon|", guarded=True, lease_ms=5000)  # then "dies": no store, no release
    assert result.status == "build"
    assert 0 < redis_client.pttl(store.family("book:odes")) <= 5000


def test_a_stored_page_expires_after_the_timeout(odes, redis_client, settings):
    from cache_sync.conf import get_config
    from cache_sync.store.page_store import get_store

    Client().get("/books/odes/")
    ttl = redis_client.pttl(get_store(get_config().cache_alias).family("book:odes"))
    assert 5000 < ttl <= settings.CACHE_SYNC.get("TIMEOUT", 600) * 1000  # past the lease's 5 s: the store set it


def test_prevented_stale_sets_and_hits_are_counted(monkeypatch, odes):
    from cache_sync.store import stats

    before = stats.totals()
    test_builder_that_read_before_a_write_cannot_store_its_old_page(monkeypatch, odes, "sync", False)
    Client().get("/books/odes/")
    after = stats.totals()
    assert after["stale_set_prevented"] - before["stale_set_prevented"] == 1
    assert after["hit"] - before["hit"] == 1


def test_a_variant_past_its_timeout_is_not_served(odes):
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "TIMEOUT": 0.05}):
        cached(Client(), "/books/odes/")
        time.sleep(0.06)
        assert Client().get("/books/odes/")["X-Cache"] == "miss"
