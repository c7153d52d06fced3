"""cache_sync's own signals: sent once per delivery, robustly, and rebuilds refill pages at the site's address."""

import pytest
from django.test import Client

from cache_sync import key_rebuilt, keys_invalidated
from cache_sync.tests import factories
from cache_sync.tests.helpers import page
from cache_sync.tests.testapp.models import Book, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    calls = []

    def listener(signal, sender, **kwargs):
        calls.append((signal, kwargs))

    keys_invalidated.connect(listener, weak=False, dispatch_uid="test")
    key_rebuilt.connect(listener, weak=False, dispatch_uid="test")
    yield calls
    keys_invalidated.disconnect(dispatch_uid="test")
    key_rebuilt.disconnect(dispatch_uid="test")


def test_keys_invalidated_names_the_keys_once_per_commit(received):
    factories.book(factories.shelf("poetry"), "odes")
    received.clear()
    Book.objects.update(title="Once")
    assert received == [(keys_invalidated, {"keys": ("book:odes", "shelf:poetry"), "rebuild": (), "using": "default"})]


def test_a_failing_listener_does_not_block_invalidation(client):
    def broken(**kwargs):
        raise RuntimeError("listener bug")

    keys_invalidated.connect(broken, weak=False, dispatch_uid="broken")
    try:
        factories.book(factories.shelf("poetry"), "odes")
        client.get("/books/odes/")
        Book.objects.update(title="Still delivered")
        assert "Still delivered" in page(client, "/books/odes/")
    finally:
        keys_invalidated.disconnect(dispatch_uid="broken")


def test_a_failing_listener_does_not_keep_the_listeners_after_it_from_hearing():
    heard = []

    def broken(**kwargs):
        raise RuntimeError("listener bug")

    keys_invalidated.connect(broken, weak=False, dispatch_uid="broken")
    keys_invalidated.connect(lambda **kwargs: heard.append(kwargs["keys"]), weak=False, dispatch_uid="after")
    try:
        factories.book(factories.shelf("poetry"), "odes")
        heard.clear()
        Book.objects.update(title="Heard")
        assert heard == [("book:odes", "shelf:poetry")]
    finally:
        keys_invalidated.disconnect(dispatch_uid="broken")
        keys_invalidated.disconnect(dispatch_uid="after")


def test_a_rebuild_rule_refills_the_page_at_the_sites_own_address(received):
    factories.tag("verse", "Verse")
    Client().get("/tags/verse/")
    Tag.objects.filter(code="verse").update(label="Poems")
    assert (key_rebuilt, {"key": "tag:verse", "stored": True}) in received
    response = Client().get("/tags/verse/")
    assert response["X-Cache"] == "hit"
    assert "Poems" in response.content.decode()
    assert "at https://shelves.example/" in response.content.decode()  # BASE_URL, never testserver
