"""Stored pages carry an ETag of what they show; the front door answers If-None-Match with 304."""

import pytest
from django.core.wsgi import get_wsgi_application
from django.test import Client

from cache_sync.tests import factories
from cache_sync.tests.test_wsgi import call
from cache_sync.tests.testapp import middleware
from cache_sync.tests.testapp.models import Book
from cache_sync.wsgi import front_door

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/books/odes/"


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


def test_a_stored_page_and_its_hits_carry_one_etag(odes):
    miss, hit = Client().get(URL), Client().get(URL)
    assert (miss["X-Cache"], hit["X-Cache"]) == ("miss", "hit")
    assert miss["ETag"] == hit["ETag"]
    assert miss["ETag"].startswith('"')


@pytest.mark.parametrize("form", ["{}", "W/{}", '"other", {}', "*"])
def test_if_none_match_with_the_pages_etag_is_answered_304_without_the_view(odes, form):
    etag = Client().get(URL)["ETag"]
    middleware.calls.clear()
    answer = Client().get(URL, headers={"If-None-Match": form.format(etag)})
    assert (answer.status_code, answer["X-Cache"], answer["ETag"], answer.content) == (304, "hit", etag, b"")
    assert middleware.calls == []  # answered by the front door: nothing behind it ran


def test_the_wsgi_layer_answers_304_before_django_handles_the_request(odes, requests_django_handled):
    app = front_door(get_wsgi_application())
    etag = Client().get(URL)["ETag"]
    requests_django_handled.clear()
    status, headers, body = call(app, HTTP_IF_NONE_MATCH=etag)
    assert (status, headers["ETag"], headers["X-Cache"], body) == ("304 Not Modified", etag, "hit", b"")
    assert requests_django_handled == []
    status, _headers, body = call(app, HTTP_IF_NONE_MATCH='"not-this-page"')
    assert (status, b"Odes" in body) == ("200 OK", True)


def test_a_write_changes_the_etag(odes):
    etag = Client().get(URL)["ETag"]
    Book.objects.filter(slug="odes").update(title="Epodes")
    answer = Client().get(URL, headers={"If-None-Match": etag})
    assert answer.status_code == 200
    assert "Epodes" in answer.content.decode()
    assert answer["ETag"] != etag


def test_signed_in_visitors_never_share_an_etag(django_user_model):
    """The plain page shows the same body to everyone; each signed-in visitor's copy has its own ETag."""
    ann, bea = Client(), Client()
    ann.force_login(django_user_model.objects.create_user("ann"))
    bea.force_login(django_user_model.objects.create_user("bea"))
    url = "/plain/tea/"
    ann_etag, bea_etag, anonymous_etag = (client.get(url)["ETag"] for client in (ann, bea, Client()))
    assert len({ann_etag, bea_etag, anonymous_etag}) == 3
    assert bea.get(url, headers={"If-None-Match": ann_etag}).status_code == 200
    assert Client().get(url, headers={"If-None-Match": ann_etag}).status_code == 200
    own = ann.get(url, headers={"If-None-Match": ann_etag})
    assert own.status_code == 304
    assert "private" in own["Cache-Control"]
    assert "Cookie" in own["Vary"]


def test_a_page_that_is_not_stored_has_no_etag_of_cache_syncs(client):
    client.post("/baskets/tea/add/", {"item": "oolong"})
    assert not client.get("/baskets/tea/").has_header("ETag")
