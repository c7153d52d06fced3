"""The version trigger follows schema changes inside `migrate` (an SQLite AlterField rebuilds the table)."""

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.models import Product
from silk_core.versioning import drop_version_trigger_sql, version_trigger
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def raise_by_raw_sql(pk: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET price = price + 1 WHERE id = %s", [pk])
        cursor.execute("SELECT version FROM catalog_product WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_raw_sql_raises_the_version_after_schema_operations_on_the_table():
    # (Not between them on PostgreSQL: the correcting UPDATE queues a deferred foreign-key check,
    # and PostgreSQL refuses an ALTER TABLE with pending trigger events in the same transaction.)
    teapot = make_product(make_category("tea", "Tea"), "jade-teapot")
    field = Product._meta.get_field("name")
    wider = field.clone()
    wider.max_length = 250
    wider.set_attributes_from_name("name")
    with connection.schema_editor() as editor:
        editor.alter_field(Product, field, wider)
        editor.alter_field(Product, wider, field)
    assert raise_by_raw_sql(teapot.pk) == 2


def version_triggers_of(table: str) -> dict[str, str]:
    """name -> the text the database keeps with it (PostgreSQL: its comment; SQLite: its CREATE)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname, obj_description(t.oid, 'pg_trigger') FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname = %s AND NOT t.tgisinternal",
                [table],
            )
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        return {name: text for name, text in cursor.fetchall() if "version" in name}


def test_the_version_trigger_has_a_stable_name_and_the_hash_of_its_sql_beside_it():
    trigger = version_trigger(connection.vendor, "catalog_product", "id")
    assert trigger.name == "silk_version_catalog_product_update"
    assert f"silk_version:{trigger.hash}" in version_triggers_of("catalog_product")[trigger.name]


def install_the_old_named_trigger(table: str) -> None:
    """What catalog 0003 left on a database before the names were stable."""
    name = f"website_version_{table}"
    correct = f'UPDATE "{table}" SET version = OLD.version + 1 WHERE "id" = NEW."id";'
    with connection.cursor() as cursor:
        for statement in drop_version_trigger_sql(connection.vendor, table, "id"):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute(
                f'CREATE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {correct} RETURN NULL; END $$'
            )
            cursor.execute(
                f'CREATE TRIGGER "{name}" AFTER UPDATE ON "{table}" FOR EACH ROW '
                "WHEN (NEW.version IS DISTINCT FROM OLD.version + 1 AND pg_trigger_depth() < 1) "
                f'EXECUTE FUNCTION "{name}"()'
            )
        else:
            cursor.execute(
                f'CREATE TRIGGER "{name}" AFTER UPDATE ON "{table}" FOR EACH ROW '
                f"WHEN NEW.version IS NOT OLD.version + 1 BEGIN {correct} END"
            )


def test_the_migration_moves_an_old_named_version_trigger_to_its_stable_name():
    call_command("migrate", "catalog", "0003", verbosity=0)
    install_the_old_named_trigger("catalog_product")
    assert list(version_triggers_of("catalog_product")) == ["website_version_catalog_product"]
    call_command("migrate", "catalog", verbosity=0)
    assert list(version_triggers_of("catalog_product")) == ["silk_version_catalog_product_update"]
    teapot = make_product(make_category("tea", "Tea"), "jade-teapot")
    assert raise_by_raw_sql(teapot.pk) == 2
