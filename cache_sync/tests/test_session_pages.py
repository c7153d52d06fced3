"""A page that shows the visitor's session (a basket, "recently viewed"): never stored, never a stranger's.

Such a visitor is served a page built for them (X-Cache: miss) and nothing of it is stored: the
shared anonymous page is what a visitor with an empty session sees, and only that is stored.
"""

import pytest
from django.test import Client

from cache_sync.tests.helpers import page

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/baskets/tea/"


def stored_pages(page_family) -> list[bytes]:
    return [value for name, value in page_family("basket:tea").items() if name.startswith(b"b:")]


def test_an_anonymous_visitors_basket_is_never_stored_as_the_shared_page(page_family):
    visitor, stranger = Client(), Client()
    visitor.post(f"{URL}add/", {"item": "oolong"})
    first, second = visitor.get(URL), visitor.get(URL)
    assert [first["X-Cache"], second["X-Cache"]] == ["miss", "miss"]
    assert "oolong" in second.content.decode()
    assert stored_pages(page_family) == []
    assert "oolong" not in page(stranger, URL)
    assert stranger.get(URL)["X-Cache"] == "hit"
    assert [b"oolong" in stored for stored in stored_pages(page_family)] == [False]


def test_a_visitor_with_a_basket_is_not_served_the_shared_page(page_family):
    stranger, visitor = Client(), Client()
    assert [stranger.get(URL)["X-Cache"] for _ in range(2)] == ["miss", "hit"]  # the shared page is stored
    visitor.post(f"{URL}add/", {"item": "sencha"})
    response = visitor.get(URL)
    assert (response["X-Cache"], "sencha" in response.content.decode()) == ("miss", True)
    visitor.post(f"{URL}add/", {"item": "matcha"})
    assert "sencha,matcha" in page(visitor, URL)  # never a page of the basket as it was


def test_a_signed_in_visitors_basket_is_never_stale_to_them(client, django_user_model, page_family):
    client.force_login(django_user_model.objects.create_user("ann"))
    client.post(f"{URL}add/", {"item": "puer"})
    assert "puer" in page(client, URL)
    client.post(f"{URL}add/", {"item": "assam"})
    assert "puer,assam" in page(client, URL)
    assert stored_pages(page_family) == []


def test_a_visitor_whose_session_holds_only_a_login_still_gets_hits(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("bea"))
    assert [client.get(URL)["X-Cache"] for _ in range(2)] == ["miss", "hit"]
