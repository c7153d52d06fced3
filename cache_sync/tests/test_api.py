"""The public API: what `import cache_sync` offers, and the calls for what triggers cannot see."""

import pytest
from django.db import transaction

import cache_sync
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_public_api_is_what_all_names():
    assert sorted(cache_sync.__all__) == sorted(
        [
            "Visitor",
            "cached_page",
            "invalidate_keys",
            "invalidate_objects",
            "key_rebuilt",
            "keys_for",
            "keys_invalidated",
            "register_fragment",
            "register_hole",
            "register_table_triggers",
            "suspended",
            "table_trigger",
        ]
    )
    for name in cache_sync.__all__:
        assert getattr(cache_sync, name) is not None
    with pytest.raises(AttributeError):
        cache_sync.deliver  # noqa: B018


def test_keys_for_names_the_rows_keys_and_its_related_rows_keys():
    poetry = factories.shelf("poetry")
    factories.book(poetry, "odes")
    assert cache_sync.keys_for(poetry) == ["shelf:poetry", "book:odes"]


def test_invalidate_keys_waits_for_the_commit_and_survives_in_the_outbox(client):
    factories.book(factories.shelf("poetry"), "odes")
    cached(client, "/books/odes/")
    with transaction.atomic():
        cache_sync.invalidate_keys(["book:odes"])
        assert OutboxEntry.objects.filter(model="cache_sync.keys").exists()  # recorded with the transaction
        assert client.get("/books/odes/")["X-Cache"] == "hit"
    assert client.get("/books/odes/")["X-Cache"] == "miss"


def test_invalidate_objects(client):
    odes = factories.book(factories.shelf("poetry"), "odes")
    cached(client, "/books/odes/", "/shelves/poetry/")
    assert cache_sync.invalidate_objects([odes]) == ["book:odes", "shelf:poetry"]
    assert client.get("/shelves/poetry/")["X-Cache"] == "miss"


def test_writes_inside_suspended_invalidate_nothing_and_leave_no_outbox_entry(client):
    poetry = factories.shelf("poetry")
    factories.book(poetry, "odes")
    cached(client, "/shelves/poetry/")
    with cache_sync.suspended():
        Book.objects.bulk_create(Book(title=f"Seeded {n}", slug=f"seeded-{n}", shelf=poetry) for n in range(20))
    assert OutboxEntry.objects.count() == 0
    assert client.get("/shelves/poetry/")["X-Cache"] == "hit"
    Book.objects.filter(slug="odes").update(title="After")  # delivery works again after the block
    assert client.get("/shelves/poetry/")["X-Cache"] == "miss"
