"""A product page carries an ETag of what it shows: a browser's If-None-Match gets 304 until a write."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from catalog.models import Product
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync invalidates on real commits

URL = "/products/jade-teapot/"


@pytest.fixture(autouse=True)
def teapot():
    return make_product(make_category("tea"), "jade-teapot")


def test_a_product_page_answers_304_until_a_write_changes_its_etag():
    etag = Client().get(URL)["ETag"]
    assert Client().get(URL)["ETag"] == etag
    again = Client().get(URL, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)

    Product.objects.filter(slug="jade-teapot").update(name="Celadon teapot")
    changed = Client().get(URL, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Celadon teapot" in changed.content.decode()
    assert changed["ETag"] != etag
    assert Client().get(URL, headers={"If-None-Match": changed["ETag"]}).status_code == 304


def test_a_signed_in_visitors_page_has_no_etag_and_no_304():
    """Filled per visit (a new CSRF token each time), a signed-in visitor's page is never the same twice."""
    alice, bob = Client(), Client()
    alice.force_login(User.objects.create_user("alice", password="x-long-password-1"))
    bob.force_login(User.objects.create_user("bob", password="x-long-password-1"))
    alice.get(URL)
    anonymous_etag = Client().get(URL)["ETag"]
    for visitor in (alice, bob):
        page = visitor.get(URL, headers={"If-None-Match": anonymous_etag})
        assert (page.status_code, page["X-Cache"], "ETag" in page) == (200, "hit", False)
        assert "private" in page["Cache-Control"]
