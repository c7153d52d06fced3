"""Redis going away degrades to the database: no error page, writes succeed, nothing is lost."""

import pytest

from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Book, Shelf
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_come_from_the_database_and_writes_succeed_while_redis_is_away(client, cache_on):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    response = client.get("/books/odes/")
    assert (response.status_code, response["X-Cache"]) == (200, "miss")
    Book.objects.update(title="Written offline")
    assert "Written offline" in page(client, "/books/odes/")
    assert OutboxEntry.objects.count() > 0  # kept for delivery


def test_the_writers_next_transaction_delivers_what_an_earlier_one_could_not(client, cache_on, settings):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    cached(client, "/books/odes/")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="While away")
    cache_on(live)
    assert "While away" not in page(client, "/books/odes/")  # until someone delivers it
    Shelf.objects.update(name="Verse")  # this connection's next write
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "miss"
    assert "While away" in response.content.decode()
