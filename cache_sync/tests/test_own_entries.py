"""PostgreSQL: the triggers tell the writer its entries in notices, so its delivery reads nothing back.

The followed paths (`shelf:{shelf.slug}`) come with them, read and locked `FOR SHARE`
at the statement: a concurrent rename of the shelf waits for the writer's commit; a
shelf another transaction holds is skipped, never waited for, and read after the commit.
"""

import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cache_sync.api import invalidate_keys
from cache_sync.capture.trigger_sql import OWN_ENTRIES
from cache_sync.delivery import own_entries
from cache_sync.models import OUTBOX_TABLE
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Book, Shelf

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's notices"),
]


def other_session() -> psycopg.Connection:
    """A session of another program (psql, a script): its own transaction, no notices asked for."""
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None, port=settings["PORT"] or None
    )


def queries_after_the_write(write) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        write()
    # The write is logged last: its delivery runs inside its execute wrapper (autocommit).
    return [query["sql"] for query in queries.captured_queries[:-1] if not query["sql"].startswith("UPDATE")]


def test_a_save_delivers_from_what_its_triggers_told_it_reading_nothing_after_its_write(client, odes):
    cached(client, "/books/odes/", "/shelves/poetry/")
    odes.title = "Odes, told"
    with CaptureQueriesContext(connection) as queries:
        odes.save()
    assert [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("UPDATE")] == []
    assert "Odes, told" in page(client, "/books/odes/")
    assert "Odes, told" in page(client, "/shelves/poetry/")  # {shelf.slug}: from the notice


def test_a_session_that_asks_for_no_notices_reads_its_entries_back(client, odes):
    cached(client, "/shelves/poetry/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    odes.title = "Odes, read back"
    with CaptureQueriesContext(connection) as queries:
        odes.save()
    reads = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("UPDATE")]
    assert len(reads) == 1 and OUTBOX_TABLE in reads[0], reads
    assert "Odes, read back" in page(client, "/shelves/poetry/")


def test_the_notices_reach_the_writer_whatever_its_sessions_client_min_messages(client, odes):
    cached(client, "/shelves/poetry/")
    with connection.cursor() as cursor:
        cursor.execute("SET client_min_messages = warning")
    odes.title = "Odes, heard"
    with CaptureQueriesContext(connection) as queries:
        odes.save()
    assert [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("UPDATE")] == []
    assert "Odes, heard" in page(client, "/shelves/poetry/")


def test_another_programs_session_is_told_nothing(odes):
    heard = []
    with other_session() as session:
        session.add_notice_handler(heard.append)
        session.execute("UPDATE testapp_book SET title = 'By psql' WHERE slug = 'odes'")
        session.commit()
    assert heard == []


def test_a_followed_row_is_locked_until_the_writers_commit_so_a_rename_waits_for_it(odes):
    with other_session() as session, transaction.atomic():
        odes.title = "Odes, locking"
        odes.save()
        session.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            session.execute("UPDATE testapp_shelf SET slug = 'verse' WHERE slug = 'poetry'")
        session.rollback()
    with other_session() as session:  # committed: the lock is gone
        session.execute("UPDATE testapp_shelf SET slug = 'verse' WHERE slug = 'poetry'")
        session.commit()


def test_a_followed_row_held_by_another_transaction_is_skipped_and_read_after_the_commit(odes, invalidated):
    """The writer never waits (no deadlock); it reads the shelf after its commit, one query."""
    with other_session() as session:
        session.execute("UPDATE testapp_shelf SET name = 'Held' WHERE slug = 'poetry'")  # held, not committed
        odes.title = "Odes, not waiting"
        done = threading.Event()
        thread = threading.Thread(target=lambda: (save_in_a_new_connection(odes.pk), done.set()))
        thread.start()
        assert done.wait(10), "the save waited for the shelf another transaction holds"
        thread.join()
        session.rollback()


def save_in_a_new_connection(pk: int) -> None:
    from django.db import connection as own

    try:
        book = Book.objects.get(pk=pk)
        with CaptureQueriesContext(own) as queries:
            book.title = "Odes, not waiting"
            book.save()
        reads = [query["sql"] for query in queries.captured_queries[:-1] if not query["sql"].startswith("UPDATE")]
        assert len(reads) == 1 and "testapp_shelf" in reads[0] and OUTBOX_TABLE not in reads[0], reads
    finally:
        own.close()


def test_a_path_one_entry_could_not_follow_is_read_for_every_entry_of_its_model(odes, invalidated):
    """One book's shelf is held elsewhere (its entry's path is null), the other's is told: both shelves'
    keys are invalidated (the told pairs alone would leave the held shelf's key unrendered)."""
    sagas = factories.book(factories.shelf("prose"), "sagas", "Sagas")
    invalidated.clear()
    with other_session() as session:
        session.execute("UPDATE testapp_shelf SET name = 'Held' WHERE slug = 'poetry'")
        with transaction.atomic():
            Book.objects.filter(pk=odes.pk).update(title="Odes, held shelf")
            Book.objects.filter(pk=sagas.pk).update(title="Sagas, free shelf")
        session.rollback()
    assert {"shelf:poetry", "shelf:prose", "book:odes", "book:sagas"} <= set(invalidated)


def test_explicit_keys_recorded_with_a_save_are_delivered_with_its_told_entries(client, odes, invalidated):
    invalidated.clear()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        odes.title = "Odes and a key"
        odes.save()
        invalidate_keys(["home"])
    statements = [query["sql"] for query in queries.captured_queries]
    assert not any(sql.startswith("SELECT") and OUTBOX_TABLE in sql for sql in statements), statements
    assert {"home", "book:odes", "shelf:poetry"} <= set(invalidated)


def test_a_rolled_back_transaction_leaves_nothing_told_for_the_next_delivery(odes, invalidated):
    sagas = factories.book(factories.shelf("prose"), "sagas", "Sagas")
    with transaction.atomic():
        Book.objects.filter(pk=sagas.pk).update(title="Never")
        transaction.set_rollback(True)
    invalidated.clear()
    odes.title = "Odes, after a rollback"
    odes.save()
    assert {"book:odes", "shelf:poetry"} <= set(invalidated)
    assert not {"book:sagas", "shelf:prose"} & set(invalidated)
    assert Book.objects.get(pk=sagas.pk).title == "Sagas"


def test_past_its_limit_the_buffer_is_dropped_and_the_delivery_reads_back(odes, invalidated, monkeypatch):
    """Three books' entries, a limit of two: the third overflows, and none of them is delivered from the
    buffer (the third alone would pass for all three)."""
    books = [odes, *(factories.book(odes.shelf, slug, slug.title()) for slug in ("elegies", "sonnets"))]
    monkeypatch.setattr(own_entries, "BUFFER_LIMIT", 2)
    invalidated.clear()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for book in books:
            Book.objects.filter(pk=book.pk).update(title=f"{book.title}, overflowing")
    reads = [query["sql"] for query in queries.captured_queries if OUTBOX_TABLE in query["sql"]]
    assert len(reads) == 1, reads
    assert {"book:odes", "book:elegies", "book:sonnets", "shelf:poetry"} <= set(invalidated)


def test_renaming_a_followed_column_in_a_migration_leaves_writes_working(odes, invalidated):
    """The book's triggers name testapp_shelf.slug: an operation on the shelf table re-creates them from the
    columns it has then (without the path while the column is gone), so no write of a book fails."""
    old = Shelf._meta.get_field("slug")
    renamed = Shelf._meta.get_field("slug").clone()
    renamed.set_attributes_from_name("slug")
    renamed.db_column = "slug_renamed"
    renamed.column = "slug_renamed"
    with connection.schema_editor() as editor:
        editor.alter_field(Shelf, old, renamed)
    try:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE testapp_book SET title = 'Odes, mid-migration' WHERE slug = 'odes'")
    finally:
        with connection.schema_editor() as editor:
            editor.alter_field(Shelf, renamed, old)
    invalidated.clear()
    odes.title = "Odes, migrated"
    odes.save()
    assert {"book:odes", "shelf:poetry"} <= set(invalidated)


def test_explicit_keys_in_a_session_told_nothing_make_the_delivery_read_every_entry_back(odes, invalidated):
    """The keys' entry alone must not pass for all of them: the book's entry was not told."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    invalidated.clear()
    with transaction.atomic():
        odes.title = "Odes and a key, read back"
        odes.save()
        invalidate_keys(["home"])
    assert {"home", "book:odes", "shelf:poetry"} <= set(invalidated)


def test_a_savepoint_rolled_back_drops_what_it_was_told(odes, invalidated):
    sagas = factories.book(factories.shelf("prose"), "sagas", "Sagas")
    invalidated.clear()
    with transaction.atomic():
        odes.title = "Odes, kept"
        odes.save()
        try:
            with transaction.atomic():
                Book.objects.filter(pk=sagas.pk).update(title="Never")
                raise RuntimeError("rolled back to the savepoint")
        except RuntimeError:
            pass
    assert {"book:odes", "shelf:poetry"} <= set(invalidated)
    assert not {"book:sagas", "shelf:prose"} & set(invalidated)


def test_writer_notices_that_is_not_a_boolean_is_named_by_its_check():
    from cache_sync.conf import parse

    problems = parse({"WRITER_NOTICES": "yes"}).problems
    assert [problem.id for problem in problems] == ["cache_sync.E065"]
    assert "WRITER_NOTICES" in problems[0].message


def test_with_writer_notices_off_connections_do_not_ask_to_be_told(settings):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "WRITER_NOTICES": False}
    assert own_entries.with_startup_option({"options": "-c search_path=public"}) == {"options": "-c search_path=public"}
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "WRITER_NOTICES": True}
    told = own_entries.with_startup_option({"options": "-c search_path=public"})
    assert told == {"options": f"-c search_path=public {own_entries.STARTUP_OPTION}"}


def test_a_repeatable_read_writer_is_not_failed_by_the_lock_on_a_row_changed_since_its_snapshot(odes, invalidated):
    """Locking a row another transaction changed since the snapshot fails a REPEATABLE READ statement: there
    the trigger does not follow, and the writer reads the shelf after its commit."""
    invalidated.clear()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT 1 FROM testapp_book")  # the snapshot is taken
        with other_session() as session:
            session.execute("UPDATE testapp_shelf SET name = 'Renamed meanwhile' WHERE slug = 'poetry'")
            session.commit()
        Book.objects.filter(pk=odes.pk).update(title="Odes, repeatable")
    assert {"book:odes", "shelf:poetry"} <= set(invalidated)
