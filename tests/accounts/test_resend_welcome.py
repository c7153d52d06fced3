"""`manage.py resend_welcome`: a fresh link for users who have not activated yet."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User
from tests.accounts.conftest import activation_link
from tests.accounts.test_welcome_mail import BrokenEmailBackend

pytestmark = pytest.mark.django_db


def test_resend_welcome_mails_a_working_link(client, make_user):
    make_user("late", is_active=False)
    out = StringIO()
    call_command("resend_welcome", "late", "--base-url", "https://shop.example.org", stdout=out)
    assert "late@example.test" in out.getvalue()
    [message] = mail.outbox
    assert message.to == ["late@example.test"]
    assert "https://shop.example.org/accounts/activate/" in message.body
    assert client.get(activation_link(message)).status_code == 200
    assert User.objects.get(username="late").is_active


def test_resend_welcome_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("resend_welcome", "ghost")
    assert mail.outbox == []


def test_resend_welcome_refuses_an_active_user(make_user):
    make_user("busy")
    with pytest.raises(CommandError, match="already active"):
        call_command("resend_welcome", "busy")
    assert mail.outbox == []


def test_resend_welcome_refuses_a_user_deactivated_after_logging_in(make_user):
    make_user("banned", is_active=False, last_login=timezone.now())
    with pytest.raises(CommandError, match="deactivated"):
        call_command("resend_welcome", "banned")
    assert mail.outbox == []


def test_resend_welcome_reports_a_mail_failure_as_a_command_error(make_user, settings):
    make_user("late", is_active=False)
    settings.EMAIL_BACKEND = f"{BrokenEmailBackend.__module__}.BrokenEmailBackend"
    with pytest.raises(CommandError, match="could not be sent"):
        call_command("resend_welcome", "late")
