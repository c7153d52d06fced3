"""Redis going away degrades to the database: no error page, no stale page after."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings

from catalog.models import Category, Product
from tests.factories import make_category, make_product
from website.stack import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def redis_gone():
    dead = {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    return override_settings(CACHES={"default": dead})


def test_pages_come_from_the_database_and_writes_succeed_while_redis_is_away(client):
    make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))
    with redis_gone():
        response = client.get("/products/jade-teapot/")
        assert (response.status_code, response["X-Cache"]) == (200, "miss")
        teapot = Product.objects.get(slug="jade-teapot")
        teapot.price = Decimal("20.00")
        teapot.save()
        assert "$20.00" in client.get("/products/jade-teapot/").content.decode()


def test_an_invalidation_missed_while_redis_was_away_is_delivered_by_the_writers_next_transaction(client):
    make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))
    client.get("/products/jade-teapot/")
    assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"
    with redis_gone():
        Product.objects.filter(slug="jade-teapot").update(price=Decimal("20.00"))
    assert "$10.00" in client.get("/products/jade-teapot/").content.decode()  # until someone delivers it
    Category.objects.filter(slug="tea").update(name="Fine Tea")  # this connection's next write
    response = client.get("/products/jade-teapot/")
    assert response["X-Cache"] == "miss"
    assert "$20.00" in response.content.decode()
