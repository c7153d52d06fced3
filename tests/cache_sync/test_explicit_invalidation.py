"""Paths that send no signal are covered by explicit calls."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from cache_sync.api import invalidate_objects
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teapot():
    return make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))


def test_queryset_update_sends_no_signal_so_the_page_stays_until_told(client, teapot):
    client.get("/products/jade-teapot/")
    Product.objects.filter(pk=teapot.pk).update(price=Decimal("30.00"))
    assert "$10.00" in client.get("/products/jade-teapot/").content.decode()  # what Django alone does
    with transaction.atomic():
        invalidate_objects(Product.objects.filter(pk=teapot.pk))
    assert "$30.00" in client.get("/products/jade-teapot/").content.decode()


def test_bulk_update_then_invalidate_objects_in_one_transaction(client, teapot):
    client.get("/categories/tea/")
    with transaction.atomic():
        teapot.price = Decimal("40.00")
        Product.objects.bulk_update([teapot], ["price"])
        keys = invalidate_objects([teapot])
    assert keys == ["product:jade-teapot", "category:tea", "home"]
    assert "$40.00" in client.get("/categories/tea/").content.decode()


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


def test_loading_a_fixture_invalidates_like_a_save(client, teapot, tmp_path):
    client.get("/categories/tea/")
    fixture = tmp_path / "cups.json"
    fixture.write_text(
        '[{"model": "catalog.product", "pk": 900, "fields": {"name": "Loaded Cup", "slug": "loaded-cup",'
        f' "price": "3.00", "category": {teapot.category.pk}, "version": 1,'
        ' "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}]'
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert "Loaded Cup" in client.get("/categories/tea/").content.decode()


def test_verify_finds_a_page_left_stale_by_a_signal_less_update(client, teapot):
    call_command("cache_sync", "warm", stdout=StringIO())
    assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"
    out = StringIO()
    call_command("cache_sync", "verify", stdout=out)
    assert "0 differ" in out.getvalue()
    Product.objects.filter(pk=teapot.pk).update(price=Decimal("55.00"))
    out = StringIO()
    with pytest.raises(CommandError, match="differ from the database"):
        call_command("cache_sync", "verify", stdout=out)
    assert "differs: product:jade-teapot" in out.getvalue()
