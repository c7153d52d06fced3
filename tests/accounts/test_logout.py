"""Logout is reachable from every page by a plain link; the cached pages stay cacheable."""

from __future__ import annotations

import pytest

from tests.factories import make_category

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync fills pages on real commits

LOGOUT_LINK = 'href="/accounts/logout/"'


def test_the_nav_of_a_cached_page_links_to_logout_and_the_page_is_still_a_hit(client, make_user):
    make_category("tea")
    client.force_login(make_user("alice"))
    first, second = client.get("/"), client.get("/")
    assert LOGOUT_LINK in first.content.decode()
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert "csrfmiddlewaretoken" not in second.content.decode()


def test_anonymous_visitors_see_no_logout_link(client):
    assert LOGOUT_LINK not in client.get("/").content.decode()


def test_get_logout_shows_a_confirmation_form_in_the_sites_look(client, make_user):
    client.force_login(make_user("alice"))
    response = client.get("/accounts/logout/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="brand"' in html and "csrfmiddlewaretoken" in html
    assert '<form method="post" action="/accounts/logout/"' in html
    assert client.get("/accounts/profile/").status_code == 200  # a GET logs nobody out


def test_posting_the_confirmation_logs_out(client, make_user):
    client.force_login(make_user("alice"))
    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/accounts/profile/").status_code == 302


def test_get_logout_when_not_signed_in_says_so(client):
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    assert "You are not logged in" in response.content.decode()
