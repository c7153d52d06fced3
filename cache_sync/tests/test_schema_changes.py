"""Triggers follow schema changes inside `migrate`: every write between operations is recorded, no step fails.

testapp's migration 0002 alters, renames and removes columns of the watched
tables (rebuilds on SQLite, dropped or renamed columns the triggers name on
both), with RunSQL and RunPython writes between the operations. Migrated back
and forth here, on tables that hold rows and cached pages.
"""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, models

from cache_sync import register_table_triggers
from cache_sync.capture import schema_hooks
from cache_sync.capture.triggers import compare_triggers, installed_triggers, triggers_for
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


def migrate_testapp(target: str) -> None:
    call_command("migrate", "testapp", target, verbosity=0)


@pytest.fixture
def before_schema_changes():
    """testapp at 0001 (0002 reversed, with the triggers installed): the next migrate runs 0002."""
    migrate_testapp("0001")
    yield
    migrate_testapp("0002")


@pytest.fixture
def migrating_pages(client, before_schema_changes):
    shelf = factories.shelf("migrating")
    for step in ("altered", "renamed", "restored"):
        factories.book(shelf, f"migrating-{step}", "Odes")
    cached(client, "/shelves/migrating/", *(f"/books/migrating-{step}/" for step in ("altered", "renamed", "restored")))


def test_a_write_after_a_table_rebuild_reaches_the_cache(client, migrating_pages):
    migrate_testapp("0002")
    assert "Odes [altered]" in page(client, "/books/migrating-altered/")


def test_a_write_while_a_key_column_is_renamed_reaches_the_cache(client, migrating_pages):
    migrate_testapp("0002")
    assert "Odes [renamed]" in page(client, "/books/migrating-renamed/")


def test_a_write_after_a_column_the_triggers_named_is_removed_reaches_the_cache(client, migrating_pages):
    migrate_testapp("0002")
    assert client.get("/shelves/migrating/").status_code == 404  # renamed to "migrated" while `name` was gone
    assert "Odes" in page(client, "/shelves/migrated/")


def test_a_write_after_the_last_operation_reaches_the_cache(client, migrating_pages):
    migrate_testapp("0002")
    assert "Odes [restored]" in page(client, "/books/migrating-restored/")


def test_after_the_migration_the_triggers_are_those_of_the_rules(before_schema_changes):
    migrate_testapp("0002")
    diff = compare_triggers("default")
    assert diff.matches, diff.describe()


def book_triggers() -> list[str]:
    return sorted(name for name, found in installed_triggers("default").items() if found.table == "testapp_book")


def test_an_altered_field_keeps_its_tables_triggers():
    """An SQLite AlterField rebuilds the table; the triggers are back before the next operation."""
    wanted = sorted(trigger.name for trigger in triggers_for("default") if trigger.table == "testapp_book")
    field = Book._meta.get_field("title")
    wider = field.clone()
    wider.max_length = 250
    wider.set_attributes_from_name("title")
    with connection.schema_editor() as editor:
        editor.alter_field(Book, field, wider)
        between = book_triggers()
        editor.alter_field(Book, wider, field)
    assert wanted and between == wanted == book_triggers()


class RefuseNegativeOpenings:
    """Another app's trigger, registered with the hooks; its WHEN names a column (PostgreSQL then
    refuses to change that column's type while the trigger exists)."""

    name = "testapp_refuse_negative_openings"

    def drop(self, schema_editor, table: str) -> None:
        if table == "testapp_book":
            on = ' ON "testapp_book"' if schema_editor.connection.vendor == "postgresql" else ""
            schema_editor.execute(f'DROP TRIGGER IF EXISTS "{self.name}"{on}', params=None)

    def create(self, schema_editor, table: str, columns: frozenset[str]) -> None:
        if table != "testapp_book" or "times_opened" not in columns:
            return
        self.drop(schema_editor, table)
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f'CREATE OR REPLACE FUNCTION "{self.name}"() RETURNS trigger LANGUAGE plpgsql AS $$ '
                "BEGIN RAISE EXCEPTION 'negative openings'; END $$",
                params=None,
            )
            body = f'EXECUTE FUNCTION "{self.name}"()'
        else:
            body = "BEGIN SELECT RAISE(ABORT, 'negative openings'); END"
        schema_editor.execute(
            f'CREATE TRIGGER "{self.name}" BEFORE UPDATE ON "testapp_book" FOR EACH ROW '
            f"WHEN (NEW.times_opened < 0) {body}",
            params=None,
        )


@pytest.fixture
def registered_trigger():
    source = RefuseNegativeOpenings()
    register_table_triggers(source)
    with connection.schema_editor() as editor:
        source.create(editor, "testapp_book", frozenset({"times_opened"}))
    yield
    with connection.schema_editor() as editor:
        source.drop(editor, "testapp_book")
    schema_hooks._sources.remove(source)


def test_a_registered_apps_trigger_survives_a_type_change_of_the_column_it_names(registered_trigger):
    odes = factories.book(factories.shelf("poetry"), "odes")
    field = Book._meta.get_field("times_opened")
    bigger = models.BigIntegerField(default=0)
    bigger.set_attributes_from_name("times_opened")
    with connection.schema_editor() as editor:
        editor.alter_field(Book, field, bigger)
        editor.alter_field(Book, bigger, field)
    with pytest.raises(DatabaseError, match="negative openings"):
        Book.objects.filter(pk=odes.pk).update(times_opened=-1)
