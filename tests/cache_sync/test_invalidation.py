"""Signals keep pages true: after commit, the affected families are gone from Redis."""

from decimal import Decimal

import pytest
from django.db import transaction

from catalog.models import Category, Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    tea, spices = make_category("tea", "Tea"), make_category("spices", "Spices")
    return {"tea": tea, "spices": spices, "teapot": make_product(tea, "jade-teapot", name="Jade Teapot")}


def warm(client, *urls):
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "hit"


def test_price_edit_shows_on_product_category_and_home_pages(client, shop):
    urls = ["/products/jade-teapot/", "/categories/tea/", "/"]
    warm(client, *urls)
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.price = Decimal("99.95")
    teapot.save()
    for url in urls:
        response = client.get(url)
        assert (response["X-Cache"], "$99.95" in response.content.decode()) == ("miss", True), url
        assert client.get(url)["X-Cache"] == "hit"


def test_moving_a_product_changes_both_category_pages(client, shop):
    warm(client, "/categories/tea/", "/categories/spices/")
    teapot = Product.objects.get(slug="jade-teapot")  # loaded: no query needed to know its old category
    teapot.category = shop["spices"]
    teapot.save()
    assert "Jade Teapot" not in client.get("/categories/tea/").content.decode()
    assert "Jade Teapot" in client.get("/categories/spices/").content.decode()


def test_moving_a_product_built_without_loading_still_clears_the_old_category(client, shop):
    warm(client, "/categories/tea/")
    Product(pk=shop["teapot"].pk, category=shop["spices"]).save(update_fields=["category"])
    assert "Jade Teapot" not in client.get("/categories/tea/").content.decode()


def test_renaming_a_product_slug_clears_the_old_url(client, shop):
    warm(client, "/products/jade-teapot/")
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.slug = "green-teapot"
    teapot.save()
    assert client.get("/products/jade-teapot/").status_code == 404
    assert client.get("/products/green-teapot/").status_code == 200


def test_renaming_a_category_shows_on_every_product_page_in_it(client, shop):
    make_product(shop["tea"], "iron-kettle", name="Iron Kettle")
    warm(client, "/products/jade-teapot/", "/products/iron-kettle/")
    tea = Category.objects.get(slug="tea")
    tea.name = "Fine Teas"
    tea.save()
    for url in ("/products/jade-teapot/", "/products/iron-kettle/"):
        assert "Fine Teas" in client.get(url).content.decode()


def test_deleting_a_product_clears_its_pages(client, shop):
    warm(client, "/products/jade-teapot/", "/categories/tea/")
    Product.objects.get(slug="jade-teapot").delete()
    assert client.get("/products/jade-teapot/").status_code == 404
    assert "Jade Teapot" not in client.get("/categories/tea/").content.decode()


def test_rolled_back_transaction_invalidates_nothing(client, shop):
    warm(client, "/products/jade-teapot/")
    with pytest.raises(RuntimeError), transaction.atomic():
        teapot = Product.objects.get(slug="jade-teapot")
        teapot.price = Decimal("1.00")
        teapot.save()
        raise RuntimeError("abort")
    assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"


def test_nothing_is_invalidated_before_commit(client, shop):
    warm(client, "/products/jade-teapot/")
    with transaction.atomic():
        teapot = Product.objects.get(slug="jade-teapot")
        teapot.price = Decimal("2.00")
        teapot.save()
        assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"
    assert client.get("/products/jade-teapot/")["X-Cache"] == "miss"


def test_a_rolled_back_batch_does_not_leak_into_the_next_transaction(client, shop, redis_round_trips):
    warm(client, "/products/jade-teapot/", "/categories/spices/")
    with pytest.raises(RuntimeError), transaction.atomic():
        Category.objects.get(slug="spices").save()
        raise RuntimeError("abort")
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.save()
    assert client.get("/categories/spices/")["X-Cache"] == "hit"
    assert client.get("/products/jade-teapot/")["X-Cache"] == "miss"


def test_thousand_saves_in_one_transaction_cost_one_round_trip(shop, redis_round_trips):
    category = shop["tea"]
    products = Product.objects.bulk_create(
        Product(name=f"Cup {n}", slug=f"cup-{n}", price=1, category=category) for n in range(1000)
    )
    products = list(Product.objects.filter(pk__in=[p.pk for p in products]))
    before = redis_round_trips()
    with transaction.atomic():
        for product in products:
            product.price = Decimal("3.00")
            product.save()
        assert redis_round_trips() == before
    assert redis_round_trips() == before + 1


def test_versions_increase_by_one_per_write(shop):
    teapot = Product.objects.get(slug="jade-teapot")
    assert teapot.version == 1
    teapot.save()
    teapot.save()
    assert teapot.version == Product.objects.get(pk=teapot.pk).version == 3
