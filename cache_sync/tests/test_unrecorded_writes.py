"""Writes no row trigger sees: SQLite's INSERT OR REPLACE, PostgreSQL's TRUNCATE and replica sessions."""

import pytest
from django.core.management import call_command
from django.db import connection

from cache_sync.capture.outbox import Change
from cache_sync.capture.trigger_sql import TRUNCATED
from cache_sync.capture.triggers import installed_triggers
from cache_sync.checks import check_triggers_fire
from cache_sync.delivery.affected import affected_keys
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Shelf

pytestmark = pytest.mark.django_db(transaction=True)

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="INSERT OR REPLACE is SQLite's")
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's feature")


@pytest.fixture
def odes():
    poetry = factories.shelf("poetry")
    factories.shelf("prose")
    return factories.book(poetry, "odes", "Odes")


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@sqlite_only
@pytest.mark.parametrize("conflict", ["id", "slug"])
def test_insert_or_replace_that_moves_a_book_clears_its_old_shelf(client, odes, conflict):
    cached(client, "/shelves/poetry/", "/shelves/prose/")
    prose = Shelf.objects.get(slug="prose")
    pk = odes.pk if conflict == "id" else odes.pk + 100  # the old row goes by its id, or by its unique slug
    execute(
        "INSERT OR REPLACE INTO testapp_book (id, title, slug, shelf_id, times_opened) "
        "VALUES (%s, 'Odes', 'odes', %s, 0)",
        [pk, prose.pk],
    )
    assert "Odes" not in page(client, "/shelves/poetry/")
    assert "Odes" in page(client, "/shelves/prose/")


@sqlite_only
def test_an_insert_that_replaces_nothing_records_only_itself(odes):
    execute("DELETE FROM cache_sync_outbox")
    with connection.cursor() as cursor, pytest.MonkeyPatch.context() as patch:
        # The writer would deliver (and delete) the entries at once: keep them to count them.
        patch.setattr("cache_sync.delivery.delivery.deliver_own_changes", lambda using: None)
        cursor.execute(
            "INSERT INTO testapp_book (title, slug, shelf_id, times_opened) VALUES ('Epodes', 'epodes', %s, 0)",
            [odes.shelf_id],
        )
        cursor.execute("SELECT data FROM cache_sync_outbox")
        recorded = [row[0] for row in cursor.fetchall()]
    assert len(recorded) == 1 and '"epodes"' in recorded[0]


@postgresql_only
def test_truncate_clears_every_page_of_the_rule_once_relayed(client, odes):
    factories.book(odes.shelf, "elegies", "Elegies")
    cached(client, "/books/odes/", "/books/elegies/", "/shelves/poetry/")
    execute("TRUNCATE testapp_book CASCADE")
    call_command("cache_sync", "relay", "--once", verbosity=0)
    assert client.get("/books/odes/").status_code == 404
    assert client.get("/books/elegies/").status_code == 404
    assert "Odes" not in page(client, "/shelves/poetry/")


@postgresql_only
def test_a_truncate_that_empties_the_outbox_too_records_nothing(odes):
    """Django's flush (and the test runner between tests) truncates every table, the outbox included."""
    execute("TRUNCATE testapp_book, cache_sync_outbox CASCADE")
    assert OutboxEntry.objects.count() == 0
    execute("TRUNCATE testapp_shelf CASCADE")  # alone, later in another transaction: recorded
    assert OutboxEntry.objects.count() > 0


def test_a_truncate_entry_means_every_cached_key_of_its_rule_and_no_other(client, odes):
    factories.tag("verse")
    factories.tag("prose")
    cached(client, "/tags/verse/", "/tags/prose/", "/shelves/poetry/")
    keys = set(affected_keys([Change(0, "testapp.Tag", [{TRUNCATED: True}])], "default").all_keys())
    assert keys == {"tag:verse", "tag:prose"}


@pytest.fixture
def replica_session():
    execute("SET session_replication_role = replica")
    yield
    execute("SET session_replication_role = origin")


@postgresql_only
def test_a_site_connection_that_writes_as_a_replica_fails_the_check(replica_session):
    errors = check_triggers_fire(databases=["default"])
    assert [error.id for error in errors] == ["cache_sync.E022"]


@pytest.fixture
def enabled_always():
    triggers = [(name, found.table) for name, found in installed_triggers("default").items()]
    for name, table in triggers:
        execute(f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{name}"')
    yield
    for name, table in triggers:
        execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')


@postgresql_only
def test_triggers_enabled_always_fire_for_a_replica_session(client, odes, enabled_always, replica_session):
    cached(client, "/books/odes/")
    execute("UPDATE testapp_book SET title = 'Replicated Odes' WHERE slug = 'odes'")
    assert check_triggers_fire(databases=["default"]) == []
    assert "Replicated Odes" in page(client, "/books/odes/")


@postgresql_only
def test_a_disabled_trigger_fails_the_check():
    execute("ALTER TABLE testapp_book DISABLE TRIGGER USER")
    try:
        errors = check_triggers_fire(databases=["default"])
    finally:
        execute("ALTER TABLE testapp_book ENABLE TRIGGER USER")
    assert [error.id for error in errors] == ["cache_sync.E022"]
    assert check_triggers_fire(databases=["default"]) == []
