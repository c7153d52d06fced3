"""The version trigger follows schema changes inside `migrate` (an SQLite AlterField rebuilds the table)."""

import pytest
from django.db import connection

from catalog.models import Product
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
