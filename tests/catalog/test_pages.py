import pytest

from silk_core.data_version import parse_data_version
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def teapot():
    return make_product(make_category("tea", "Tea"), "jade-teapot", name="Jade Teapot", description="Hand glazed.")


def test_product_page_shows_the_products_fields(client, teapot):
    response = client.get("/products/jade-teapot/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Jade Teapot" in html and "$12.50" in html and "Hand glazed." in html and "Tea" in html
    assert parse_data_version(response["X-Data-Version"]) == {
        f"catalog.product:{teapot.pk}": 1,
        f"catalog.category:{teapot.category.pk}": 1,
    }


def test_category_page_lists_its_products(client, teapot):
    response = client.get("/categories/tea/")
    assert response.status_code == 200
    assert "Jade Teapot" in response.content.decode()
    assert f"catalog.product:{teapot.pk}=1" in response["X-Data-Version"]


def test_home_shows_newest_products_and_categories(client, teapot):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Jade Teapot" in html and 'href="/categories/tea/"' in html


@pytest.mark.parametrize("url", ["/", "/categories/tea/", "/products/jade-teapot/"])
def test_second_request_is_served_from_redis(client, teapot, url):
    first, second = client.get(url), client.get(url)
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert second["X-Data-Version"] == first["X-Data-Version"]
    assert second["Content-Type"] == first["Content-Type"]


def test_a_hit_runs_no_query(client, teapot, django_assert_num_queries):
    client.get("/products/jade-teapot/")
    with django_assert_num_queries(0):
        assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"


@pytest.mark.parametrize("url", ["/products/no-such/", "/categories/no-such/", "/users/nobody/"])
def test_unknown_slug_is_404(client, url):
    assert client.get(url).status_code == 404


@pytest.fixture
def long_category():
    category = make_category("spices")
    for number in range(45):
        make_product(category, f"spice-{number:02d}", name=f"Spice {number:02d}")
    return category


@pytest.mark.parametrize(("query", "shown"), [("", "Spice 00"), ("?page=2", "Spice 20"), ("?page=3", "Spice 40")])
def test_category_pages_paginate(client, long_category, query, shown):
    response = client.get(f"/categories/spices/{query}")
    assert response.status_code == 200
    assert shown in response.content.decode()


@pytest.mark.parametrize("query", ["?page=abc", "?page=-1", "?page=", "?page=1", "?page=02", "?page=2.0", "?page=%00"])
def test_a_page_number_that_is_not_canonical_redirects_to_the_first_page(client, long_category, query):
    response = client.get(f"/categories/spices/{query}")
    assert (response.status_code, response["Location"]) == (302, "/categories/spices/")


def test_a_page_number_past_the_last_page_is_404(client, long_category):
    assert client.get("/categories/spices/?page=4").status_code == 404


def test_a_flood_of_junk_page_numbers_stores_nothing(client, long_category, page_family):
    client.get("/categories/spices/")
    before = len(page_family("category:spices"))
    for n in range(300):
        client.get(f"/categories/spices/?page=x{n}")
        client.get(f"/categories/spices/?page={n + 10}")
    assert len(page_family("category:spices")) == before


def test_each_page_number_is_cached_separately(client, long_category):
    assert client.get("/categories/spices/?page=2")["X-Cache"] == "miss"
    assert client.get("/categories/spices/?page=3")["X-Cache"] == "miss"
    assert client.get("/categories/spices/?page=2")["X-Cache"] == "hit"
    assert client.get("/categories/spices/?page=2&utm=x")["X-Cache"] == "hit"  # other parameters ignored


def test_post_to_a_cached_page_is_not_answered_from_the_cache(client, teapot):
    client.get("/products/jade-teapot/")
    assert client.post("/products/jade-teapot/").get("X-Cache") is None
