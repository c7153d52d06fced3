"""The welcome mail goes out after commit, once per registration, and never breaks it."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from accounts.signals import user_registered
from accounts.views import RegisterView
from tests.accounts.conftest import PASSWORD, activation_link

pytestmark = pytest.mark.django_db


class BrokenEmailBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def test_registration_sends_one_welcome_mail_after_commit(register, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        register()
    assert mail.outbox == []  # not before commit
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["marco@venice.test"]
    assert "marco" in message.subject and "\n" not in message.subject
    assert "http://testserver/accounts/activate/" in message.body


def test_welcome_mail_has_an_html_alternative_with_the_same_link(register, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        register()
    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="http://testserver{activation_link(message)}"' in html


def test_welcome_link_is_built_from_the_host_the_visitor_used(client, registration_data, settings,
                                                              django_capture_on_commit_callbacks):  # fmt: skip
    settings.ALLOWED_HOSTS = ["shop.example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/register/", registration_data, headers={"host": "shop.example.org"}, secure=True)
    assert "https://shop.example.org/accounts/activate/" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_registration_commits_then_mails_in_a_real_transaction(register):
    register()
    assert len(mail.outbox) == 1
    assert User.objects.filter(username="marco", is_active=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_registration_rolled_back_by_a_later_receiver_sends_no_mail(client, registration_data):
    def fail(sender, **kwargs):
        raise RuntimeError("a later step of the registration failed")

    user_registered.connect(fail, sender=RegisterView, dispatch_uid="test-fail")
    client.raise_request_exception = True
    try:
        with pytest.raises(RuntimeError):
            client.post("/accounts/register/", registration_data)
    finally:
        user_registered.disconnect(sender=RegisterView, dispatch_uid="test-fail")
    assert not User.objects.filter(username="marco").exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_registration_inside_an_outer_transaction_that_rolls_back_sends_no_mail(rf, registration_data):
    from django.contrib.sessions.middleware import SessionMiddleware

    request = rf.post("/accounts/register/", registration_data)
    SessionMiddleware(lambda r: None).process_request(request)
    request._dont_enforce_csrf_checks = True
    with pytest.raises(RuntimeError), transaction.atomic():
        assert RegisterView.as_view()(request).status_code == 302
        raise RuntimeError("roll back")
    assert not User.objects.filter(username="marco").exists()
    assert mail.outbox == []


def test_createsuperuser_gets_no_welcome_mail(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("createsuperuser", "--noinput", username="root", email="root@example.test", verbosity=0)
    assert User.objects.get(username="root").is_superuser
    assert mail.outbox == []


def test_a_user_created_in_the_admin_gets_no_welcome_mail(client, admin_user, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    data = {"username": "clerk", "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/accounts/user/add/", data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert User.objects.filter(username="clerk").exists()
    assert mail.outbox == []


def test_a_plain_user_save_gets_no_welcome_mail(make_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_user("quiet", is_active=False)
    assert mail.outbox == []


def test_a_failing_mail_backend_is_logged_and_the_user_stays(register, settings, caplog,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    with caplog.at_level(logging.ERROR, logger="accounts.receivers"), django_capture_on_commit_callbacks(execute=True):
        response = register()
    assert response.status_code == 302
    assert User.objects.filter(username="marco").exists()
    [record] = [r for r in caplog.records if r.name == "accounts.receivers"]
    assert record.levelno == logging.ERROR
    assert "marco" in record.getMessage()
    assert isinstance(record.exc_info[1], ConnectionRefusedError)


@pytest.mark.django_db(transaction=True)
def test_a_failing_mail_backend_after_a_real_commit_keeps_the_user(register, settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenEmailBackend"
    with caplog.at_level(logging.ERROR, logger="accounts.receivers"):
        assert register().status_code == 302
    assert User.objects.filter(username="marco").exists()
    assert any(r.name == "accounts.receivers" and r.exc_info for r in caplog.records)
