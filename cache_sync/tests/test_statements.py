"""Reading a statement's first tokens: which may write a watched table (no database needed)."""

import pytest
from psycopg import sql

from cache_sync.delivery.statements import Kind, classify, statement_text

TABLES = frozenset({"testapp_book", "testapp_book_tags"})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE testapp_book SET title = 'x'",
        "  \n\t update testapp_book set title = 'x'",
        "-- a data migration\nUPDATE testapp_book SET title = 'x'",
        "/* RunSQL */ /* twice */ UPDATE testapp_book SET title = 'x'",
        '\n    UPDATE "testapp_book"\n    SET title = %s\n',
        'UPDATE "public"."testapp_book" SET title = %s',
        "UPDATE main . [testapp_book] SET title = %s",
        "update `TestApp_Book` set title = %s",
        "UPDATE OR REPLACE testapp_book SET title = %s",
        "UPDATE ONLY testapp_book SET title = %s",
        'INSERT INTO "testapp_book" ("title") VALUES (%s) RETURNING "testapp_book"."id"',
        "INSERT OR IGNORE INTO testapp_book_tags (book_id, tag_id) VALUES (1, 'x')",
        "REPLACE INTO testapp_book (id, title) VALUES (1, 'x')",
        "DELETE FROM testapp_book WHERE id = 1",
        "DELETE FROM ONLY testapp_book",
        "MERGE INTO testapp_book USING other ON true WHEN MATCHED THEN DELETE",
        "WITH old AS (SELECT id FROM testapp_book) UPDATE testapp_book SET title = 'x'",
        "with moved as (delete from testapp_book returning *) select count(*) from moved",
        "EXPLAIN ANALYZE UPDATE testapp_book SET title = 'x'",
        "COPY testapp_book FROM STDIN",
        "COPY testapp_book (title, slug) FROM STDIN",
        "CALL retitle_everything()",
        "DO $$ BEGIN PERFORM 1; END $$",
        "EXECUTE prepared_update(1)",
        "/* a /* nested */ comment */ UPDATE testapp_book SET title = 'x'",
        "/*" + "x" * 10_000 + "*/ UPDATE testapp_book SET title = 'x'",
        "/* unterminated UPDATE testapp_book",
    ],
)
def test_a_statement_that_may_write_a_watched_table_is_a_write(statement):
    assert classify(statement, TABLES) is Kind.WRITE


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM testapp_book",
        "  select title from testapp_book for update",
        "INSERT INTO testapp_reader (name) SELECT title FROM testapp_book",
        "UPDATE testapp_bookmark SET title = 'x'",  # a longer name that starts like a watched one
        "UPDATE testapp_reader SET name = 'x' FROM testapp_book",
        "DELETE FROM django_session",
        "COPY testapp_book TO STDOUT",
        "COPY testapp_book (title) TO STDOUT",
        "COPY (SELECT * FROM testapp_book) TO STDOUT",
        "SAVEPOINT s1",
        "ROLLBACK TO SAVEPOINT s1",
        "BEGIN",
        "WITH t AS (SELECT 1) SELECT * FROM t",
        "",
    ],
)
def test_a_statement_that_cannot_write_a_watched_table_is_not(statement):
    assert classify(statement, TABLES) is Kind.OTHER


@pytest.mark.parametrize("statement", ["COMMIT", "  commit;", "-- done\nEND", "end transaction"])
def test_a_raw_commit_is_a_commit(statement):
    assert classify(statement, TABLES) is Kind.COMMIT


class Unscannable(str):
    def lower(self):
        raise AssertionError("the whole statement was scanned")


@pytest.mark.parametrize("table", ["testapp_book", "testapp_reader"])
def test_a_long_insert_is_read_up_to_its_table_name_only(table):
    rows = ", ".join(["(%s, %s, %s)"] * 1000)
    statement = Unscannable(f'INSERT INTO "{table}" ("title", "slug", "shelf_id") VALUES {rows} RETURNING "id"')
    assert classify(statement, TABLES) is (Kind.WRITE if table == "testapp_book" else Kind.OTHER)


def test_bytes_and_composed_queries_are_read_as_text():
    composed = sql.SQL("UPDATE {} SET title = %s").format(sql.Identifier("testapp_book"))
    assert statement_text(composed, None) == 'UPDATE "testapp_book" SET title = %s'
    assert statement_text(b"UPDATE testapp_book SET title = '\xc3\xa9'", None) == "UPDATE testapp_book SET title = 'é'"
    assert statement_text(object(), None) is None


@pytest.mark.parametrize(
    "statement",
    [" " * 4000 + "(", "UPDATE" + " " * 4000 + "(", "/* a */ " * 400 + "(", "-- a\n" * 700 + "(", "/*" + "*" * 4000],
    ids=["spaces", "spaces-after-keyword", "block-comments", "line-comments", "unterminated-stars"],
)
def test_a_head_of_whitespace_and_comments_is_read_in_one_pass(statement):
    """A regex that gave gaps back would take exponential time on these (a whitespace run of 24 took 1.4 s)."""
    assert classify(statement, TABLES) is Kind.OTHER
