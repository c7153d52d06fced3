"""The resend-activation form: a new link for an account still waiting, the same answer for anyone."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from tests.accounts.conftest import activation_link

pytestmark = pytest.mark.django_db

DONE = "/accounts/resend-activation/done/"


def test_the_form_is_linked_from_the_check_your_mail_page(client):
    html = client.get("/accounts/register/done/").content.decode()
    assert '<a href="/accounts/resend-activation/">ask us to send it again</a>' in html


def test_the_form_shows_an_email_field(client):
    response = client.get("/accounts/resend-activation/")
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_an_inactive_account_gets_a_link_that_activates_it(client, make_user):
    make_user("late", is_active=False)
    response = client.post("/accounts/resend-activation/", {"email": "LATE@example.test"})
    assert (response.status_code, response["Location"]) == (302, DONE)
    [message] = mail.outbox
    assert message.to == ["late@example.test"]
    assert client.get(activation_link(message)).status_code == 200
    assert User.objects.get(username="late").is_active


@pytest.mark.parametrize("case", ["unknown", "active", "deactivated"])
def test_no_mail_and_the_same_answer_when_there_is_nothing_to_activate(client, make_user, case):
    if case == "active":
        make_user("late")
    elif case == "deactivated":
        make_user("late", is_active=False, last_login=timezone.now())
    response = client.post("/accounts/resend-activation/", {"email": "late@example.test"})
    assert (response.status_code, response["Location"]) == (302, DONE)
    assert mail.outbox == []


def test_a_malformed_address_is_a_form_error(client):
    response = client.post("/accounts/resend-activation/", {"email": "not-an-address"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
