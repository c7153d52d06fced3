"""Log in and out with Django's auth views and our templates."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_has_a_form_and_a_register_link(client):
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html and "csrfmiddlewaretoken" in html
    assert 'href="/accounts/register/"' in html


def test_logging_in_leads_to_the_profile_page(client, make_user):
    make_user("alice")
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    assert 'href="/accounts/profile/">Signed in as alice' in client.get("/accounts/profile/").content.decode()


def test_logging_out_by_post_ends_the_session(client, make_user):
    client.force_login(make_user("alice"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 302


def test_logged_out_page_renders_without_a_redirect_setting(client, make_user, settings):
    settings.LOGOUT_REDIRECT_URL = None
    client.force_login(make_user("alice"))
    response = client.post("/accounts/logout/")
    assert response.status_code == 200
    assert "You are logged out" in response.content.decode()
