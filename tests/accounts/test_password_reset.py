"""Password reset: linked from login, in the site's look, its mail linking to the site."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-Silk-Route-77"


@pytest.mark.parametrize(
    "path", ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"]
)
def test_the_pages_are_in_the_sites_look_not_the_admins(client, path):
    html = client.get(path).content.decode()
    assert 'class="brand"' in html and "css/site.css" in html
    assert "/admin/" not in html and "Django administration" not in html


def test_the_whole_flow_sets_a_new_password(client, make_user):
    make_user("alice")
    response = client.post("/accounts/password_reset/", {"email": "ALICE@example.test"})
    assert response["Location"] == "/accounts/password_reset/done/"
    [message] = mail.outbox
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert 'class="brand"' in form_page.content.decode() and "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == "/accounts/reset/done/"
    assert User.objects.get(username="alice").check_password(NEW_PASSWORD)


def test_a_bad_reset_link_is_a_page_of_the_site(client):
    html = client.get("/accounts/reset/MQ/bad-token/").content.decode()
    assert "This link is not valid" in html and 'class="brand"' in html


def test_the_password_change_page_is_in_the_sites_look(client, make_user):
    client.force_login(make_user("alice"))
    html = client.get("/accounts/password_change/").content.decode()
    assert 'class="brand"' in html and "Django administration" not in html
