"""`manage.py cache_sync`: rules, explain, invalidate, warm, verify."""

import contextlib
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cache_sync.triggers import install_triggers, installed_triggers
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teapot():
    return make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))


def test_command_explains_which_keys_a_change_touches(teapot):
    out = StringIO()
    call_command("cache_sync", "explain", "catalog.Category", str(teapot.category.pk), stdout=out)
    assert out.getvalue().split() == ["category:tea", "home", "product:jade-teapot"]


def test_command_invalidates_on_demand(client, teapot):
    client.get("/")
    call_command("cache_sync", "invalidate", "home", stdout=StringIO())
    assert client.get("/")["X-Cache"] == "miss"


def test_command_lists_the_rules():
    out = StringIO()
    call_command("cache_sync", "rules", stdout=out)
    assert "catalog.Product: invalidate product:{slug}, category:{category.slug}, home" in out.getvalue()


@contextlib.contextmanager
def triggers_dropped(table: str):
    """A write no trigger sees: the only way left to change a row behind cache_sync's back."""
    with connection.cursor() as cursor:
        for name, on_table in installed_triggers("default").items():
            if on_table == table:
                cursor.execute(
                    f'DROP TRIGGER "{name}"' + (f' ON "{table}"' if connection.vendor == "postgresql" else "")
                )
    try:
        yield
    finally:
        install_triggers("default")


def test_verify_finds_a_page_changed_behind_the_caches_back(client, teapot):
    call_command("cache_sync", "warm", stdout=StringIO())
    assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"
    out = StringIO()
    call_command("cache_sync", "verify", stdout=out)
    assert "0 differ" in out.getvalue()
    with triggers_dropped("catalog_product"):
        Product.objects.filter(pk=teapot.pk).update(price=Decimal("55.00"))
        out = StringIO()
        with pytest.raises(CommandError, match="differ from the database"):
            call_command("cache_sync", "verify", stdout=out)
        assert "differs: product:jade-teapot" in out.getvalue()
