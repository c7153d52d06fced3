"""Cached pages answer GET and HEAD only: any other method is 405 before the cache or the database."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["/", "/categories/tea/", "/products/jade-teapot/", "/users/alice/"]


@pytest.fixture(autouse=True)
def rows():
    make_product(make_category("tea"), "jade-teapot")
    return User.objects.create_user("alice", password="x-long-password-1")


@pytest.mark.parametrize("method", ["options", "trace", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", PAGES)
def test_another_method_is_405_and_builds_nothing(client, django_assert_num_queries, url, method):
    client.get(url)  # cached now: a method that reached the cache or the view would show it
    with django_assert_num_queries(0):
        response = getattr(client, method)(url)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.content == b""
    assert "X-Cache" not in response


@pytest.mark.parametrize("url", PAGES)
def test_get_and_head_are_still_served_from_the_cache(client, url):
    first, second, head = client.get(url), client.get(url), client.head(url)
    assert (first.status_code, second.status_code, head.status_code) == (200, 200, 200)
    # The profile's rule is "rebuild": creating alice already built her page.
    assert first["X-Cache"] == ("hit" if url == "/users/alice/" else "miss")
    assert (second["X-Cache"], head["X-Cache"]) == ("hit", "hit")
    assert head.content == b""


@pytest.mark.parametrize("url", PAGES)
def test_a_signed_in_visitor_still_gets_hits(client, rows, url):
    client.force_login(rows)
    assert [client.get(url)["X-Cache"] for _ in range(2)] == ["miss", "hit"]


@pytest.mark.parametrize(
    ("url", "key"), [("/categories/tea/", "category:tea"), ("/products/jade-teapot/", "product:jade-teapot")]
)
def test_pages_warmed_by_cache_sync_are_the_right_pages(client, url, key):
    """cache_sync finds a page's URL by its view: the method decorator must sit inside `@cached_page`."""
    from cache_sync import invalidate_keys

    built_by_a_visitor = client.get(url)
    assert built_by_a_visitor["X-Cache"] == "miss"
    invalidate_keys([key])
    call_command("cache_sync", "warm", stdout=StringIO())
    warmed = client.get(url)
    assert warmed["X-Cache"] == "hit"
    assert warmed.content == built_by_a_visitor.content
