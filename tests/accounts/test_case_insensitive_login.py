"""Login finds the account whatever the case; an account not activated yet is told so."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

RESEND_LINK = 'href="/accounts/resend-activation/"'


@pytest.mark.parametrize("typed", ["Alice", "ALICE", "alice"])
def test_login_ignores_the_case_of_the_username(client, make_user, typed):
    make_user("alice")
    response = client.post("/accounts/login/", {"username": typed, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/accounts/profile/")


def test_a_stored_mixed_case_name_logs_in_in_lower_case(client, make_user):
    make_user("Marco")
    assert client.post("/accounts/login/", {"username": "marco", "password": PASSWORD}).status_code == 302


def test_the_right_password_of_an_account_not_activated_says_so_and_links_the_resend_form(client, make_user):
    make_user("late", is_active=False)
    response = client.post("/accounts/login/", {"username": "Late", "password": PASSWORD})
    html = response.content.decode()
    assert response.status_code == 200
    assert "not activated yet" in html and RESEND_LINK in html
    assert "_auth_user_id" not in client.session


def test_a_wrong_password_of_an_account_not_activated_gets_the_generic_error(client, make_user):
    make_user("late", is_active=False)
    html = client.post("/accounts/login/", {"username": "late", "password": "wrong-Password-1"}).content.decode()
    assert "not activated" not in html and "enter a correct username and password" in html


def test_an_account_deactivated_after_logging_in_is_not_told_to_activate(client, make_user):
    from django.utils import timezone

    make_user("gone", is_active=False, last_login=timezone.now())
    html = client.post("/accounts/login/", {"username": "gone", "password": PASSWORD}).content.decode()
    assert "not activated" not in html and "This account is inactive." in html


def test_the_login_page_links_password_reset_and_resend(client):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html and RESEND_LINK in html
