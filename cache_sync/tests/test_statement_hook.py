"""The writer delivers every write it makes through Django before it returns, however the SQL is spelt or sent.

Each test caches the pages, writes, and checks, with no relay running, that the
families are gone from Redis and the outbox holds none of the writer's entries
as soon as the write returns (autocommit) or commits, and not before.
"""

import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from cache_sync.delivery import receivers
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from cache_sync.tests.testapp.models import Book, Reader

pytestmark = pytest.mark.django_db(transaction=True)

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="a psycopg / PostgreSQL feature")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="an sqlite3 feature")


class PaperBook(Book):
    class Meta:
        proxy = True
        app_label = "testapp"


@pytest.fixture
def odes(client):
    poetry = factories.shelf("poetry")
    book = factories.book(poetry, "odes", "Odes")
    cached(client, "/books/odes/", "/shelves/poetry/")
    return book


@pytest.fixture
def gone(page_family):
    """`gone("book:odes")`: the family is not in Redis and no entry waits in the outbox."""

    def check(*keys: str) -> None:
        for key in keys:
            assert page_family(key) == {}, f"{key} is still cached"
        assert list(OutboxEntry.objects.values_list("model", flat=True)) == []

    return check


@pytest.fixture
def still_cached(page_family):
    def check(*keys: str) -> None:
        for key in keys:
            assert page_family(key), f"{key} was invalidated before the commit"

    return check


# Raw SQL however it is spelt: indented, commented, triple-quoted, qualified, in a CTE.

SPELLINGS = {
    "indented": ("  \n\tUPDATE testapp_book SET title = %s WHERE slug = %s", ["Seen", "odes"]),
    "line comment": (
        "-- a RunSQL data migration\nUPDATE testapp_book SET title = %s WHERE slug = %s",
        ["Seen", "odes"],
    ),
    "block comment": ("/* retitle */ update testapp_book set title = %s where slug = %s", ["Seen", "odes"]),
    "triple-quoted": (
        """
        UPDATE "testapp_book"
           SET "title" = %s
         WHERE "slug" = %s
        """,
        ["Seen", "odes"],
    ),
    "CTE": (
        "WITH target AS (SELECT id FROM testapp_book WHERE slug = %s)"
        " UPDATE testapp_book SET title = %s WHERE id IN (SELECT id FROM target)",
        ["odes", "Seen"],
    ),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_raw_sql_in_any_spelling_is_delivered_before_execute_returns(odes, gone, spelling):
    statement, params = SPELLINGS[spelling]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    gone("book:odes", "shelf:poetry")


def test_a_schema_qualified_table_name_is_delivered(odes, gone):
    schema = "public" if connection.vendor == "postgresql" else "main"
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{schema}"."testapp_book" SET title = %s WHERE slug = %s', ["Seen", "odes"])
    gone("book:odes")


def test_executemany_is_delivered(odes, gone):
    factories.book(odes.shelf, "sonnets")
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE testapp_book SET title = %s WHERE slug = %s", [("A", "odes"), ("B", "sonnets")])
    gone("book:odes", "shelf:poetry")


@on_postgres
def test_a_bytes_query_is_delivered(odes, gone):
    with connection.cursor() as cursor:
        cursor.execute(b"UPDATE testapp_book SET title = %s WHERE slug = %s", ["Seen", "odes"])
    gone("book:odes")


@on_postgres
def test_a_composed_query_is_delivered(odes, gone):
    from psycopg import sql

    statement = sql.SQL("UPDATE {} SET {} = %s WHERE slug = %s").format(
        sql.Identifier("testapp_book"), sql.Identifier("title")
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, ["Seen", "odes"])
    gone("book:odes")


@on_postgres
def test_a_data_modifying_cte_that_returns_rows_is_delivered(odes, gone):
    with connection.cursor() as cursor:
        cursor.execute("WITH moved AS (UPDATE testapp_book SET title = 'Seen' RETURNING id) SELECT count(*) FROM moved")
        assert cursor.fetchone() == (1,)
    gone("book:odes")


# Manual transactions: Django's on_commit does not run for them.


def outbox_seen_by_another_connection() -> list[str]:
    """What a relay would find: the delivery's own deletes must have committed."""
    seen = []

    def read():
        seen.extend(OutboxEntry.objects.values_list("model", flat=True))
        connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return seen


def leave_manual_mode():
    connection.rollback()  # what the checks read began a transaction on PostgreSQL
    connection.set_autocommit(True)


def test_a_manual_transaction_is_delivered_after_commit_and_not_before(odes, gone, still_cached):
    connection.set_autocommit(False)
    try:
        Book.objects.filter(slug="odes").update(title="Manual Odes")
        still_cached("book:odes")
        connection.commit()
        assert outbox_seen_by_another_connection() == []
        gone("book:odes")
    finally:
        leave_manual_mode()


def test_transaction_commit_of_a_manual_transaction_is_delivered(odes, gone, still_cached):
    transaction.set_autocommit(False)
    try:
        odes.title = "Manual Odes"
        odes.save()
        still_cached("book:odes")
        transaction.commit()
        gone("book:odes")
    finally:
        leave_manual_mode()


def test_a_manual_transaction_rolled_back_invalidates_nothing(odes, still_cached):
    connection.set_autocommit(False)
    try:
        Book.objects.filter(slug="odes").update(title="Never")
        connection.rollback()
    finally:
        leave_manual_mode()
    still_cached("book:odes")
    assert Book.objects.get(slug="odes").title == "Odes"


def test_an_atomic_block_inside_a_manual_transaction_is_delivered_at_its_commit(odes, gone, still_cached):
    connection.set_autocommit(False)
    try:
        with transaction.atomic():
            Book.objects.filter(slug="odes").update(title="Nested Odes")
        still_cached("book:odes")
        connection.commit()
        gone("book:odes")
    finally:
        leave_manual_mode()


@on_sqlite
def test_set_autocommit_true_commits_a_manual_transaction_on_sqlite_and_delivers_it(odes, gone, still_cached):
    connection.set_autocommit(False)
    Book.objects.filter(slug="odes").update(title="Committed by autocommit")
    still_cached("book:odes")
    connection.set_autocommit(True)
    gone("book:odes")


def test_a_raw_begin_and_commit_are_delivered_after_the_commit_and_not_before(odes, gone, still_cached):
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("UPDATE testapp_book SET title = %s WHERE slug = %s", ["Raw Transaction", "odes"])
            still_cached("book:odes")
        except BaseException:
            cursor.execute("ROLLBACK")  # the next tests need the connection out of this transaction
            raise
        cursor.execute("COMMIT")
    gone("book:odes")


# Model writes whatever model class made them.


def test_create_through_a_proxy_model_in_autocommit_is_delivered(odes, gone):
    PaperBook.objects.create(title="Sonnets", slug="sonnets", shelf=odes.shelf)
    gone("shelf:poetry")


def test_save_through_a_proxy_model_in_autocommit_is_delivered(odes, gone):
    paper = PaperBook.objects.get(slug="odes")
    paper.title = "Paper Odes"
    paper.save()
    gone("book:odes", "shelf:poetry")


def test_create_through_a_historical_model_in_autocommit_is_delivered(odes, gone):
    HistoricalBook = MigrationExecutor(connection).loader.project_state().apps.get_model("testapp", "Book")
    HistoricalBook.objects.create(title="Sonnets", slug="sonnets", shelf_id=odes.shelf_id)
    gone("shelf:poetry")


def test_bulk_create_returning_rows_in_autocommit_is_delivered(odes, gone):
    Book.objects.bulk_create([Book(title=f"Book {n}", slug=f"book-{n}", shelf=odes.shelf) for n in range(3)])
    gone("shelf:poetry")


def test_a_raw_insert_returning_is_delivered_when_its_rows_are_read_and_its_cursor_closed(odes, gone, still_cached):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO testapp_book (title, slug, shelf_id, times_opened) VALUES (%s, %s, %s, 0) RETURNING id",
            ["Sonnets", "sonnets", odes.shelf_id],
        )
        if connection.vendor == "sqlite":  # the statement (and its autocommit transaction) is still open
            still_cached("shelf:poetry")
        assert cursor.fetchone()[0] > odes.pk
    gone("shelf:poetry")


# Cursor methods that Django's execute wrappers do not see.


@on_sqlite
def test_executescript_is_delivered(odes, gone):
    with connection.cursor() as cursor:
        cursor.executescript("UPDATE testapp_book SET title = 'Scripted' WHERE slug = 'odes';")
    gone("book:odes")


@on_sqlite
def test_executescript_with_its_own_transaction_is_delivered_after_its_commit(odes, gone, still_cached):
    with connection.cursor() as cursor:
        cursor.executescript("BEGIN; UPDATE testapp_book SET title = 'Scripted' WHERE slug = 'odes';")
        try:
            still_cached("book:odes")
        finally:
            cursor.execute("COMMIT")
    gone("book:odes")


COPY_BOOKS = "COPY testapp_book (title, slug, shelf_id, times_opened) FROM STDIN"


@on_postgres
def test_copy_from_is_delivered_when_its_block_ends(odes, gone, still_cached):
    with connection.cursor() as cursor:
        with cursor.copy(COPY_BOOKS) as copy:
            copy.write_row(("Sonnets", "sonnets", odes.shelf_id, 0))
            still_cached("shelf:poetry")
        gone("shelf:poetry")


@on_postgres
def test_copy_with_a_composed_statement_inside_a_transaction_is_delivered_at_commit(odes, gone, still_cached):
    from psycopg import sql

    statement = sql.SQL("COPY {} (title, slug, shelf_id, times_opened) FROM STDIN").format(
        sql.Identifier("testapp_book")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.copy(statement) as copy:
            copy.write_row(("Sonnets", "sonnets", odes.shelf_id, 0))
        still_cached("shelf:poetry")
    gone("shelf:poetry")


@pytest.fixture
def retitle_function():
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION cache_sync_test_retitle(new_title text) RETURNS void LANGUAGE sql"
            " AS $$ UPDATE testapp_book SET title = new_title WHERE slug = 'odes' $$"
        )
    yield "cache_sync_test_retitle"
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION cache_sync_test_retitle(text)")


@on_postgres
def test_callproc_is_delivered(odes, gone, retitle_function):
    with connection.cursor() as cursor:
        cursor.callproc(retitle_function, ["Procedure Odes"])
    gone("book:odes")


# What the writer cannot see: a trigger elsewhere. The relay delivers it.


@pytest.fixture
def reader_trigger():
    """A trigger on an unwatched table (readers) that writes a watched one (books)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION cache_sync_test_retitle_by_reader() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN UPDATE testapp_book SET title = NEW.name WHERE slug = 'odes'; RETURN NULL; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER cache_sync_test_reader AFTER INSERT ON testapp_reader"
                " FOR EACH ROW EXECUTE FUNCTION cache_sync_test_retitle_by_reader()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER cache_sync_test_reader AFTER INSERT ON testapp_reader"
                " BEGIN UPDATE testapp_book SET title = NEW.name WHERE slug = 'odes'; END"
            )
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER cache_sync_test_reader" + (" ON testapp_reader" if connection.vendor == "postgresql" else "")
        )
        if connection.vendor == "postgresql":
            cursor.execute("DROP FUNCTION cache_sync_test_retitle_by_reader()")


def test_a_write_by_a_trigger_on_an_unwatched_table_is_recorded_and_the_relay_delivers_it(odes, gone, reader_trigger):
    Reader.objects.create(name="Triggered Odes")
    assert Book.objects.get(slug="odes").title == "Triggered Odes"
    assert OutboxEntry.objects.filter(model="testapp.Book").exists()  # recorded, left to the relay
    call_command("cache_sync", "relay", "--once", verbosity=0)
    gone("book:odes")


# The hook never raises on its own account; the statement's errors are the statement's.


class BrokenComposable:
    def as_string(self, context):
        raise ValueError("cannot render")


@pytest.mark.parametrize(
    "statement",
    [None, 42, object(), BrokenComposable(), b"\xff\xfe UPDATE", "/* unterminated", "", "x" * 100_000],
    ids=["None", "int", "object", "broken-composable", "bad-utf8", "unterminated-comment", "empty", "long"],
)
def test_the_hook_never_raises_on_a_statement_it_cannot_read(odes, monkeypatch, statement):
    scheduled = []
    monkeypatch.setattr(receivers, "deliver_after_commit", scheduled.append)
    with connection.cursor() as cursor:
        context = {"connection": connection, "cursor": cursor}
        assert receivers._hook(lambda *args: "ran", statement, None, False, context) == "ran"
    if not isinstance(statement, (str, bytes)):
        assert scheduled == ["default"]  # unreadable: counted as a write


def test_a_failing_statement_propagates_its_own_error_unchanged(odes):
    error = DatabaseError("the statement's own error")

    def execute(*args):
        raise error

    with connection.cursor() as cursor, pytest.raises(DatabaseError) as raised:
        receivers._hook(
            execute,
            "UPDATE testapp_book SET title = 'x'",
            None,
            False,
            {"connection": connection, "cursor": cursor},
        )
    assert raised.value is error


def test_a_real_statement_error_reaches_the_caller(odes):
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_book SET no_such_column = 1")


def test_a_delivery_that_fails_inside_the_hook_leaves_the_change_to_the_relay(odes, monkeypatch, gone):
    def broken(using):
        raise RuntimeError("a bug")

    monkeypatch.setattr(receivers, "deliver_after_commit", broken)
    assert Book.objects.filter(slug="odes").update(title="Left to the relay") == 1
    assert OutboxEntry.objects.exists()
    monkeypatch.undo()
    call_command("cache_sync", "relay", "--once", verbosity=0)
    gone("book:odes")


def test_a_write_on_an_unwatched_table_invalidates_nothing(odes, still_cached):
    Reader.objects.create(name="Ann")
    still_cached("book:odes", "shelf:poetry")
