"""The stale-set guard and the stampede guard of the read path, on real Redis."""

import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

import catalog.views
from cache_sync import pages
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def strategy(name: str):
    return override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "STRATEGY": name})


def in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize(("name", "old_page_survives"), [("sync", False), ("naive", True)])
def test_builder_that_read_before_a_write_cannot_store_its_old_page(monkeypatch, name, old_page_survives):
    """A reader reads the row, pauses before its cache write, a write commits, the reader resumes.

    Without the guard (the naive strategy) the old page is stored after the
    write's invalidation and stays until its TTL: the test shows it, so it can fail.
    """
    make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))
    has_read, write_committed = threading.Event(), threading.Event()
    render = pages._render

    def pause_after_database_read(response):
        if threading.current_thread() is not threading.main_thread():
            has_read.set()
            assert write_committed.wait(10)
        return render(response)

    monkeypatch.setattr(pages, "_render", pause_after_database_read)
    with strategy(name):
        builder = in_thread(lambda: Client().get("/products/jade-teapot/"))
        assert has_read.wait(10)
        teapot = Product.objects.get(slug="jade-teapot")
        teapot.price = Decimal("20.00")
        teapot.save()
        write_committed.set()
        builder.join(10)
        page = Client().get("/products/jade-teapot/").content.decode()
    assert ("$10.00" in page) is old_page_survives
    assert ("$20.00" in page) is not old_page_survives


@pytest.fixture
def slow_page_builds(monkeypatch):
    """Builds of the product page, each made slow so that concurrent readers miss together."""
    make_product(make_category("tea"), "jade-teapot")
    builds = []
    lookup = catalog.views.get_object_or_404

    def slow_counted_lookup(*args, **kwargs):
        builds.append(1)
        threading.Event().wait(0.1)
        return lookup(*args, **kwargs)

    monkeypatch.setattr(catalog.views, "get_object_or_404", slow_counted_lookup)
    return builds


def test_twenty_concurrent_misses_build_the_page_once(slow_page_builds):
    builds = slow_page_builds
    start = threading.Barrier(20)
    responses = []

    def read():
        start.wait()
        responses.append(Client().get("/products/jade-teapot/"))

    for thread in [in_thread(read) for _ in range(20)]:
        thread.join(10)
    assert len(builds) == 1
    assert [r.status_code for r in responses] == [200] * 20
    assert sorted(r["X-Cache"] for r in responses) == ["hit"] * 19 + ["miss"]
    assert len({r.content for r in responses}) == 1


def test_without_the_guard_concurrent_misses_stampede(slow_page_builds):
    builds = slow_page_builds
    start = threading.Barrier(5)

    def read():
        start.wait()
        Client().get("/products/jade-teapot/")

    with strategy("naive"):
        for thread in [in_thread(read) for _ in range(5)]:
            thread.join(10)
    assert len(builds) > 1


def test_a_failing_build_releases_its_lease(monkeypatch, page_family):
    make_product(make_category("tea"), "jade-teapot")
    monkeypatch.setattr(catalog.views, "render", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        Client().get("/products/jade-teapot/")
    assert not any(field.startswith(b"l:") for field in page_family("product:jade-teapot"))


def test_prevented_stale_sets_and_hits_are_counted(monkeypatch):
    from cache_sync import stats

    before = stats.totals()
    test_builder_that_read_before_a_write_cannot_store_its_old_page(monkeypatch, "sync", False)
    Client().get("/products/jade-teapot/")
    after = stats.totals()
    assert after["stale_set_prevented"] - before["stale_set_prevented"] == 1
    assert after["hit"] - before["hit"] == 1
    assert after["invalidated_keys"] - before["invalidated_keys"] >= 3


def test_a_build_slower_than_its_lease_is_not_stored(slow_page_builds, page_family, django_user_model):
    """A store after the lease deadline is refused: it bounds how old a stored page's data can be."""
    signed_in = Client()
    signed_in.force_login(django_user_model.objects.create_user("alice"))
    signed_in.get("/products/jade-teapot/")  # another variant keeps the family alive past the lease
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "LEASE_TIMEOUT": 0.05}):
        assert Client().get("/products/jade-teapot/")["X-Cache"] == "miss"  # the build takes 0.1 s
        assert b"b:anon|" not in page_family("product:jade-teapot")
    assert Client().get("/products/jade-teapot/")["X-Cache"] == "miss"
    assert Client().get("/products/jade-teapot/")["X-Cache"] == "hit"
