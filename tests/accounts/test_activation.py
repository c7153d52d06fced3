"""Activation links open the account once; bad, used or expired links say so, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.mail import activation_path
from accounts.models import User
from accounts.tokens import ActivationTokenGenerator, activation_token
from tests.accounts.conftest import PASSWORD, activation_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(register, django_capture_on_commit_callbacks):
    """A registered, not yet activated user, and the link in their welcome mail."""
    with django_capture_on_commit_callbacks(execute=True):
        register()
    return User.objects.get(username="marco"), activation_link(mail.outbox[0])


def test_an_inactive_user_cannot_log_in(client, registered):
    assert not client.login(username="marco", password=PASSWORD)


def test_the_link_activates_the_account(client, registered):
    user, link = registered
    response = client.get(link)
    assert response.status_code == 200
    assert "Your account is active" in response.content.decode()
    user.refresh_from_db()
    assert user.is_active
    assert client.login(username="marco", password=PASSWORD)


def test_replaying_the_link_does_not_activate_again(client, registered):
    user, link = registered
    client.get(link)
    user.refresh_from_db()
    user.is_active = False  # deactivated by staff since, before the user ever logged in
    user.save()
    response = client.get(link)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert not User.objects.get(pk=user.pk).is_active


def test_replaying_the_link_after_a_signal_less_deactivation_does_not_activate(client, registered):
    user, link = registered
    client.get(link)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(link).status_code == 400
    assert not User.objects.get(pk=user.pk).is_active


def test_a_used_link_says_it_is_not_valid(client, registered):
    _, link = registered
    client.get(link)
    response = client.get(link)
    assert response.status_code == 400
    assert "already been used" in response.content.decode()


def test_an_expired_link_is_refused(client, registered, monkeypatch, settings):
    user, link = registered
    later = activation_token._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(ActivationTokenGenerator, "_now", lambda self: later)
    response = client.get(link)
    assert response.status_code == 400
    assert not User.objects.get(pk=user.pk).is_active


def test_a_password_reset_token_does_not_activate(client, make_user):
    user = make_user("idle", is_active=False)
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    response = client.get(f"/accounts/activate/{uidb64}/{default_token_generator.make_token(user)}/")
    assert response.status_code == 400
    assert not User.objects.get(pk=user.pk).is_active


def test_a_link_for_one_user_does_not_activate_another(client, make_user):
    first, second = make_user("first", is_active=False), make_user("second", is_active=False)
    other_uid = urlsafe_base64_encode(force_bytes(second.pk))
    token = activation_path(first).rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/accounts/activate/{other_uid}/{token}/").status_code == 400
    assert not User.objects.get(pk=second.pk).is_active


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/activate/MQ/not-a-token/",
        "/accounts/activate/MQ/zzzz-zzzz/",
        "/accounts/activate/!!!/abc-def/",
        "/accounts/activate/OTk5OTk5/abc-def/",
        "/accounts/activate/YWJj/abc-def/",
        f"/accounts/activate/{urlsafe_base64_encode(b'9' * 40)}/abc-def/",
        "/accounts/activate/MQ/-/",
    ],
    ids=["garbage-token", "wrong-token", "bad-base64", "unknown-user", "non-numeric-id", "huge-id", "empty-parts"],
)
def test_a_bad_link_shows_a_clear_page(client, make_user, path):
    make_user("idle", is_active=False)
    response = client.get(path)
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert not User.objects.get(username="idle").is_active


def test_an_active_users_link_is_not_valid(client, make_user):
    user = make_user("busy")
    assert client.get(activation_path(user)).status_code == 400
