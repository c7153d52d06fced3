"""On a Redis Cluster (`python -m tools.topology cluster -- ...`): a slot that moved between nodes."""

import os

import pytest
from django.test import Client

from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from cache_sync.tests.testapp.models import Book

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(os.environ.get("CACHE_SYNC_TEST_TOPOLOGY") != "cluster", reason="needs a Redis Cluster"),
]


@pytest.fixture
def slot_moved_away(redis_client, monkeypatch):
    """The client's map of slots is out of date: it sends every key to a node that does not hold it."""
    right = redis_client.get_node_from_key

    def wrong(key, *args, **kwargs):
        holder = right(key, *args, **kwargs)
        return next(node for node in redis_client.get_primaries() if node.name != holder.name)

    monkeypatch.setattr(redis_client, "get_node_from_key", wrong)


def test_an_invalidation_sent_to_the_wrong_node_follows_the_redirection(odes, slot_moved_away, page_family):
    Book.objects.filter(slug="odes").update(title="Moved")
    assert page_family("book:odes") == {}


def test_a_hit_read_from_the_wrong_node_is_read_again_from_the_right_one(odes, slot_moved_away):
    client = Client()
    cached(client, "/books/odes/")


@pytest.fixture
def odes(page_family):
    book = factories.book(factories.shelf("poetry"), "odes", "Odes")
    cached(Client(), "/books/odes/")
    assert page_family("book:odes")
    return book
