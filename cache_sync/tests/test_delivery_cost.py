"""A transaction delivers once after its commit, however many of its statements wrote: one read of the
outbox, not one per statement (none on PostgreSQL, whose triggers tell the writer its entries)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cache_sync.models import OUTBOX_TABLE
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, unacknowledged
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_transaction_of_several_writes_reads_its_outbox_entries_once_after_its_commit(client):
    poetry = factories.shelf("poetry")
    for slug in ("odes", "elegies", "sonnets"):
        factories.book(poetry, slug)
    cached(client, "/books/odes/", "/books/sonnets/")
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for slug in ("odes", "elegies", "sonnets"):
            Book.objects.filter(slug=slug).update(title=f"{slug} revised")
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT") and OUTBOX_TABLE in q["sql"]]
    assert len(reads) == (0 if connection.vendor == "postgresql" else 1), reads
    assert not unacknowledged()
    assert client.get("/books/odes/")["X-Cache"] == client.get("/books/sonnets/")["X-Cache"] == "miss"
