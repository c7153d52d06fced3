from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog import demo_catalogue
from catalog.models import Category, Product

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_catalog", *args, stdout=out)
    return out.getvalue()


def test_seed_creates_the_requested_counts():
    seed("--categories", "5", "--products", "2500")
    assert Category.objects.count() == 5
    assert Product.objects.count() == 2500
    assert Product.objects.values("slug").distinct().count() == 2500


def test_seed_is_deterministic_for_a_seed():
    seed("--categories", "3", "--products", "50", "--seed", "7")
    first = list(Product.objects.order_by("id").values_list("name", "price", "category__slug"))
    Product.objects.all().delete()
    Category.objects.all().delete()
    seed("--categories", "3", "--products", "50", "--seed", "7")
    assert list(Product.objects.order_by("id").values_list("name", "price", "category__slug")) == first


def test_every_product_name_is_distinct_even_when_seeding_again():
    seed("--categories", "5", "--products", "2500")
    seed("--categories", "3", "--products", "300")
    assert Product.objects.values("name").distinct().count() == 2800


def test_products_are_named_and_described_in_the_words_of_their_own_category():
    seed("--categories", "15", "--products", "600")
    items = {words.name: words.items for words in demo_catalogue.CATALOGUE}
    for product in Product.objects.select_related("category"):
        assert any(item in product.name for item in items[product.category.name]), product
        assert product.description.startswith(f"{product.name}, ")
    assert set(Category.objects.values_list("name", flat=True)) == set(items)


def test_default_names_read_as_a_style_and_an_item():
    seed("--categories", "12", "--products", "500")
    styles = {style for words in demo_catalogue.CATALOGUE for style in words.styles}
    assert all(product.name.split(" ")[0] in {s.split(" ")[0] for s in styles} for product in Product.objects.all())
    assert not Product.objects.filter(name__regex=r"\d").exists()


def test_if_empty_leaves_an_existing_catalog_alone():
    seed("--categories", "2", "--products", "10")
    assert "nothing seeded" in seed("--if-empty")
    assert Product.objects.count() == 10


def test_seeding_again_adds_new_categories():
    seed("--categories", "2", "--products", "10")
    seed("--categories", "2", "--products", "10")
    assert Category.objects.count() == 4
    assert Product.objects.count() == 20


def test_bad_counts_are_refused():
    with pytest.raises(CommandError):
        seed("--categories", "0")


@pytest.mark.django_db(transaction=True)
def test_seeding_invalidates_the_listing_pages_once_not_row_by_row(client, redis_round_trips):
    seed("--categories", "1", "--products", "1")
    client.get("/")
    assert client.get("/")["X-Cache"] == "hit"
    before = redis_round_trips()
    seed("--categories", "2", "--products", "3000")
    assert redis_round_trips() - before == 1  # "home" and the new categories, in one pipeline
    assert client.get("/")["X-Cache"] == "miss"  # delivered by the seeding process itself
    call_command("cache_sync", "relay", "--once", stdout=StringIO())  # deletes what it acknowledged
    stats = StringIO()
    call_command("cache_sync", "stats", stdout=stats)
    assert "outbox_backlog                   0" in stats.getvalue()
