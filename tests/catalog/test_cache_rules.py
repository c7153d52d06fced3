"""The site's CACHE_SYNC rules: which pages each catalog change clears, on every write path."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction

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
        assert client.get(url)["X-Cache"] == "hit", url


def shows(client, url: str, text: str) -> bool:
    return text in client.get(url).content.decode()


def test_price_edit_shows_on_product_category_and_home_pages(client, shop):
    urls = ["/products/jade-teapot/", "/categories/tea/", "/"]
    warm(client, *urls)
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.price = Decimal("99.95")
    teapot.save()
    for url in urls:
        response = client.get(url)
        assert (response["X-Cache"], "$99.95" in response.content.decode()) == ("miss", True), url


@pytest.mark.parametrize(
    "move",
    [
        lambda teapot, spices: setattr(teapot, "category", spices) or teapot.save(),
        lambda teapot, spices: Product.objects.filter(pk=teapot.pk).update(category=spices),
    ],
    ids=["save", "update"],
)
def test_moving_a_product_changes_both_category_pages(client, shop, move):
    warm(client, "/categories/tea/", "/categories/spices/")
    move(Product.objects.get(slug="jade-teapot"), shop["spices"])
    assert not shows(client, "/categories/tea/", "Jade Teapot")
    assert shows(client, "/categories/spices/", "Jade Teapot")


def test_renaming_a_product_slug_clears_the_old_url(client, shop):
    warm(client, "/products/jade-teapot/")
    Product.objects.filter(slug="jade-teapot").update(slug="green-teapot")
    assert client.get("/products/jade-teapot/").status_code == 404
    assert client.get("/products/green-teapot/").status_code == 200


def test_renaming_a_category_shows_on_every_product_page_in_it(client, shop):
    make_product(shop["tea"], "iron-kettle", name="Iron Kettle")
    warm(client, "/products/jade-teapot/", "/products/iron-kettle/")
    Category.objects.filter(slug="tea").update(name="Fine Teas")
    for url in ("/products/jade-teapot/", "/products/iron-kettle/"):
        assert shows(client, url, "Fine Teas"), url


def test_deleting_a_product_clears_its_pages(client, shop):
    warm(client, "/products/jade-teapot/", "/categories/tea/")
    Product.objects.get(slug="jade-teapot").delete()
    assert client.get("/products/jade-teapot/").status_code == 404
    assert not shows(client, "/categories/tea/", "Jade Teapot")


def test_a_new_product_from_bulk_create_shows_on_its_category_and_home(client, shop):
    warm(client, "/categories/tea/", "/")
    Product.objects.bulk_create([Product(name="Iron Kettle", slug="iron-kettle", price=5, category=shop["tea"])])
    assert shows(client, "/categories/tea/", "Iron Kettle")
    assert shows(client, "/", "Iron Kettle")


@pytest.mark.parametrize(
    "write",
    [
        lambda pk: Product.objects.get(pk=pk).save(),
        lambda pk: Product.objects.filter(pk=pk).update(price=2),
        lambda pk: Product.objects.bulk_update([Product(pk=pk, price=2)], ["price"]),
        lambda pk: Product(**{**Product.objects.values().get(pk=pk), "version": 1}).save(),
        lambda pk: Product.objects.get(pk=pk).save(update_fields=["price"]),
        lambda pk: Product.objects.filter(pk=pk).update(price=2, version=1),
        lambda pk: raw_sql(f"UPDATE catalog_product SET price = 2 WHERE id = {pk}"),
        lambda pk: raw_sql(f"UPDATE catalog_product SET price = 2, version = 1 WHERE id = {pk}"),
        lambda pk: raw_sql(f"UPDATE catalog_product SET price = 2, version = version + 1 WHERE id = {pk}"),
    ],
    ids=[
        "save",
        "update",
        "bulk_update",
        "save_of_a_built_instance",
        "save_update_fields",
        "update_naming_a_version",
        "raw_sql",
        "raw_sql_setting_an_old_version",
        "raw_sql_raising_it_itself",
    ],
)
def test_every_write_path_raises_the_version_by_one(shop, write):
    pk = shop["teapot"].pk
    Product.objects.filter(pk=pk).update(price=3)  # version 2
    write(pk)
    assert Product.objects.get(pk=pk).version == 3


def raw_sql(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_save_reads_back_the_version_the_database_assigned(shop):
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.save()
    teapot.save()
    assert teapot.version == Product.objects.get(pk=teapot.pk).version == 3


def test_a_fixture_never_moves_a_version_backwards(shop, tmp_path):
    pk = shop["teapot"].pk
    for _ in range(4):
        Product.objects.filter(pk=pk).update(price=3)
    fixture = tmp_path / "old.json"
    fixture.write_text(
        f'[{{"model": "catalog.product", "pk": {pk}, "fields": {{"name": "Jade Teapot", "slug": "jade-teapot",'
        f' "price": "4.00", "category": {shop["tea"].pk}, "version": 1,'
        ' "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}]'
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert Product.objects.get(pk=pk).version == 6


def test_a_thousand_saves_in_one_transaction_cost_one_redis_round_trip(shop, redis_round_trips):
    Product.objects.bulk_create(
        Product(name=f"Cup {n}", slug=f"cup-{n}", price=1, category=shop["tea"]) for n in range(1000)
    )
    products = list(Product.objects.filter(slug__startswith="cup-"))
    before = redis_round_trips()
    with transaction.atomic():
        for product in products:
            product.price = Decimal("3.00")
            product.save()
    assert redis_round_trips() - before == 1
