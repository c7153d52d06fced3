"""Logout is reachable from every page by a form in the nav; the cached pages stay cacheable (the nav
and its CSRF token are holes of the shared copy, filled per visitor)."""

from __future__ import annotations

import pytest

from tests.factories import make_category

pytestmark = pytest.mark.django_db(transaction=True)  # cache_sync fills pages on real commits

LOGOUT_LINK = '<form class="logout" method="post" action="/accounts/logout/">'


def test_the_nav_of_a_cached_page_has_a_logout_form_and_the_page_is_still_a_hit(client, make_user):
    make_category("tea")
    client.force_login(make_user("alice"))
    first, second = client.get("/"), client.get("/")
    assert LOGOUT_LINK in first.content.decode()
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.content.decode().count("csrfmiddlewaretoken") == 1


def test_the_logout_form_of_a_cached_page_logs_out_with_its_token(make_user):
    from django.test import Client

    make_category("tea")
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("alice"))
    client.get("/")
    page = client.get("/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert LOGOUT_LINK not in client.get("/").content.decode()


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
