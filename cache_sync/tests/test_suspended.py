"""`suspended()`: writes inside the block leave no outbox entry, writes after it do (nested, raising, in a transaction).

On PostgreSQL the triggers record nothing at all (a transaction setting their WHEN reads);
on SQLite they record and the block drops its entries before it commits.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

import cache_sync
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def poetry():
    shelf = factories.shelf("poetry")
    factories.book(shelf, "odes")
    return shelf


def rename(title: str) -> None:
    Book.objects.filter(slug="odes").update(title=title)


def recorded() -> int:
    return OutboxEntry.objects.count()


def test_a_write_after_the_block_in_the_same_transaction_is_recorded(poetry):
    with transaction.atomic():
        with cache_sync.suspended():
            rename("Seeded")
        assert recorded() == 0
        rename("After")
        assert recorded() == 1


def test_a_nested_block_leaves_its_outer_block_suspended(poetry):
    with transaction.atomic():
        with cache_sync.suspended():
            with cache_sync.suspended():
                rename("Inner")
            rename("Outer, after the inner block")
        assert recorded() == 0
        rename("After both")
        assert recorded() == 1


class Refused(Exception):
    pass


def test_a_block_that_raises_leaves_the_transaction_recording(poetry):
    with transaction.atomic():
        with pytest.raises(Refused), cache_sync.suspended():
            rename("Seeded")
            raise Refused
        rename("After the error")
        assert recorded() == 1


def test_the_next_transaction_on_the_connection_is_recorded(poetry):
    """In autocommit: nothing of the block outlives its transaction on the connection."""
    with cache_sync.suspended():
        rename("Seeded")
    with transaction.atomic():
        rename("Next")
        assert recorded() == 1


def test_keys_invalidated_inside_the_block_are_not_recorded(poetry):
    with transaction.atomic():
        with cache_sync.suspended():
            cache_sync.invalidate_keys(["home"])
        assert recorded() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's triggers record, and the block drops")
def test_postgresqls_triggers_record_nothing_inside_the_block(poetry):
    with cache_sync.suspended():
        rename("Seeded")
        Book.objects.create(shelf=poetry, slug="seeded", title="Seeded")
        Book.objects.filter(slug="seeded").delete()
        assert recorded() == 0
