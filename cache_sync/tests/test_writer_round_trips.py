"""What a write costs the writer on PostgreSQL when its triggers do not tell it its entries (test_own_entries.py):
one read of its entries with their relations (it acknowledges them in Redis, and the relay deletes them);
and the relay keeps the outbox it empties small."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cache_sync.capture import outbox
from cache_sync.capture.trigger_sql import OWN_ENTRIES
from cache_sync.delivery import relay
from cache_sync.models import OUTBOX_TABLE
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Tag

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's write path"),
]


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


def test_a_save_reads_its_entries_and_their_relations_in_one_statement_and_deletes_nothing(client, odes):
    cached(client, "/books/odes/", "/shelves/poetry/")
    with connection.cursor() as cursor:  # as a session whose startup option a pooler dropped
        cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    odes.title = "Odes, read once"
    with CaptureQueriesContext(connection) as queries:
        odes.save()
    # The write itself is logged last: its delivery runs inside its execute wrapper (autocommit).
    after_the_write = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("UPDATE")]
    assert len(after_the_write) == 1, after_the_write  # the read (entries, shelf slugs); no delete
    assert OUTBOX_TABLE in after_the_write[0] and "testapp_shelf" in after_the_write[0]
    assert "Odes, read once" in page(client, "/shelves/poetry/")  # {shelf.slug} rendered from that read


@pytest.mark.parametrize("told", [True, False], ids=["told", "read back"])
def test_relations_of_rows_recorded_by_their_pk_alone_are_still_followed(odes, invalidated, told):
    if not told:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    other = factories.book(factories.shelf("prose"), "sagas", "Sagas")
    tag = Tag.objects.create(code="old", label="Old")
    invalidated.clear()
    with transaction.atomic():
        odes.title = "Odes again"
        odes.save()  # a full row: its shelf is read with the entries
        other.tags.add(tag)  # a link: the book recorded by its pk, its shelf read after
    assert {"shelf:poetry", "shelf:prose", "book:sagas"} <= set(invalidated)


def vacuums_of_the_outbox() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s", [OUTBOX_TABLE])
        return cursor.fetchone()[0]


def test_the_relays_housekeeping_vacuums_the_outbox_its_writers_empty(odes):
    before = vacuums_of_the_outbox()
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))  # one round, its housekeeping included
    assert vacuums_of_the_outbox() == before + 1


def test_a_vacuum_that_fails_is_logged_not_raised(caplog):
    with transaction.atomic():  # VACUUM cannot run in a transaction block (as behind a transaction pooler)
        outbox.vacuum("default")
        transaction.set_rollback(True)
    assert "Could not vacuum the outbox" in caplog.text
