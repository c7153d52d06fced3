"""Every write path reaches the cache before the writer returns: triggers record, the writer delivers."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from catalog.models import Category, Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    tea, spices = make_category("tea", "Tea"), make_category("spices", "Spices")
    teapot = make_product(tea, "jade-teapot", name="Jade Teapot", price=Decimal("10.00"))
    return {"tea": tea, "spices": spices, "teapot": teapot}


def cached(client, *urls):
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "hit", url


def shows(client, url: str, text: str) -> bool:
    return text in client.get(url).content.decode()


def test_queryset_update_shows_at_once(client, shop):
    cached(client, "/products/jade-teapot/", "/categories/tea/", "/")
    Product.objects.filter(slug="jade-teapot").update(price=Decimal("30.00"))
    for url in ("/products/jade-teapot/", "/categories/tea/", "/"):
        assert shows(client, url, "$30.00"), url


def test_queryset_update_that_moves_a_product_clears_the_old_category(client, shop):
    cached(client, "/categories/tea/", "/categories/spices/")
    Product.objects.filter(slug="jade-teapot").update(category=shop["spices"])
    assert not shows(client, "/categories/tea/", "Jade Teapot")
    assert shows(client, "/categories/spices/", "Jade Teapot")


def test_bulk_update_in_a_transaction_shows_after_commit(client, shop):
    cached(client, "/products/jade-teapot/")
    teapot = Product.objects.get(slug="jade-teapot")
    teapot.price = Decimal("40.00")
    with transaction.atomic():
        Product.objects.bulk_update([teapot], ["price"])
        assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"  # not before the commit
    assert shows(client, "/products/jade-teapot/", "$40.00")


def test_bulk_create_shows_new_products_on_their_category_page(client, shop):
    cached(client, "/categories/tea/")
    Product.objects.bulk_create([Product(name="Iron Kettle", slug="iron-kettle", price=5, category=shop["tea"])])
    assert shows(client, "/categories/tea/", "Iron Kettle")


def test_raw_sql_through_djangos_connection(client, shop):
    cached(client, "/products/jade-teapot/")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_product SET price = 50 WHERE slug = %s", ["jade-teapot"])
    assert shows(client, "/products/jade-teapot/", "$50.00")


def test_queryset_delete(client, shop):
    cached(client, "/products/jade-teapot/", "/categories/tea/")
    Product.objects.filter(slug="jade-teapot").delete()
    assert client.get("/products/jade-teapot/").status_code == 404
    assert not shows(client, "/categories/tea/", "Jade Teapot")


def test_data_migration_with_historical_models(client, shop):
    """RunPython gets historical models: no receivers of ours are connected to them."""
    cached(client, "/categories/tea/")
    historical = MigrationExecutor(connection).loader.project_state().apps
    HistoricalProduct = historical.get_model("catalog", "Product")
    assert HistoricalProduct is not Product
    with transaction.atomic():
        row = HistoricalProduct.objects.get(slug="jade-teapot")
        row.name = "Migrated Teapot"
        row.save()
    assert shows(client, "/categories/tea/", "Migrated Teapot")


def test_loaddata_over_an_existing_row_clears_its_old_category(client, shop, tmp_path):
    cached(client, "/categories/tea/", "/categories/spices/")
    fixture = tmp_path / "moved.json"
    fixture.write_text(
        f'[{{"model": "catalog.product", "pk": {shop["teapot"].pk}, "fields": {{"name": "Jade Teapot",'
        f' "slug": "jade-teapot", "price": "10.00", "category": {shop["spices"].pk}, "version": 1,'
        ' "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}}]'
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert not shows(client, "/categories/tea/", "Jade Teapot")
    assert shows(client, "/categories/spices/", "Jade Teapot")


def test_a_stale_instance_clears_the_url_the_row_has_now(client, shop):
    """Old keys come from the database: this instance never saw the rename to green-teapot."""
    stale = Product.objects.get(slug="jade-teapot")
    renamed = Product.objects.get(slug="jade-teapot")
    renamed.slug = "green-teapot"
    renamed.save()
    cached(client, "/products/green-teapot/")
    stale.price = Decimal("11.00")
    stale.save()  # writes slug jade-teapot back: green-teapot is gone
    assert client.get("/products/green-teapot/").status_code == 404
    assert shows(client, "/products/jade-teapot/", "$11.00")


def test_a_related_row_loaded_before_its_rename_does_not_hide_the_new_name(client, shop):
    teapot = Product.objects.select_related("category").get(slug="jade-teapot")
    assert teapot.category.slug == "tea"  # cached on the instance
    Category.objects.filter(slug="tea").update(slug="green-tea")
    cached(client, "/categories/green-tea/")
    teapot.price = Decimal("12.00")
    teapot.save()
    assert shows(client, "/categories/green-tea/", "$12.00")


def test_a_retried_transaction_with_the_same_instance_clears_the_old_state(client, shop):
    teapot = Product.objects.get(slug="jade-teapot")
    with pytest.raises(RuntimeError), transaction.atomic():
        teapot.category = shop["spices"]
        teapot.save()
        raise RuntimeError("deadlock, retry")
    cached(client, "/categories/tea/")
    teapot.save()  # the retry: in memory the product "was" in spices already
    assert not shows(client, "/categories/tea/", "Jade Teapot")


def test_a_failing_on_commit_callback_registered_first_does_not_drop_the_invalidation(client, shop):
    cached(client, "/products/jade-teapot/")

    def enqueue_task():
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError), transaction.atomic():
        transaction.on_commit(enqueue_task)  # not robust: Django stops at it
        Product.objects.filter(slug="jade-teapot").update(price=Decimal("60.00"))
    assert shows(client, "/products/jade-teapot/", "$60.00")


def test_a_write_transaction_costs_one_redis_round_trip(shop, redis_round_trips):
    before = redis_round_trips()
    with transaction.atomic():
        Product.objects.filter(category=shop["tea"]).update(price=1)
        Product.objects.bulk_create([Product(name="Cup", slug="cup", price=1, category=shop["tea"])])
        Category.objects.filter(pk=shop["spices"].pk).update(name="Spice Route")
    assert redis_round_trips() - before == 1


@pytest.mark.parametrize(
    "write",
    [
        lambda pk: Product.objects.filter(pk=pk).update(price=2),
        lambda pk: Product.objects.bulk_update([Product(pk=pk, price=2)], ["price"]),
        lambda pk: Product(**{**Product.objects.values().get(pk=pk), "version": 1}).save(),
    ],
    ids=["update", "bulk_update", "save_of_a_built_instance"],
)
def test_every_write_path_raises_the_version_by_one(shop, write):
    pk = shop["teapot"].pk
    Product.objects.filter(pk=pk).update(price=3)  # version 2
    write(pk)
    assert Product.objects.get(pk=pk).version == 3


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
