"""Registrations never activated: their names are freed once the link expired, and a command purges them."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import User

pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_an_expired_registration_of_the_same_email_is_claimed(register, make_user):
    make_user("squatter", is_active=False, email="marco@venice.test", date_joined=days_ago(4))
    assert register().status_code == 302
    assert list(User.objects.values_list("username", flat=True)) == ["marco"]


def test_an_expired_registration_of_the_same_username_is_claimed(register, make_user):
    make_user("Marco", is_active=False, date_joined=days_ago(4))
    assert register().status_code == 302
    assert User.objects.get(username="marco").email == "marco@venice.test"


def test_a_registration_whose_link_still_works_holds_its_email(register, make_user):
    make_user("squatter", is_active=False, email="marco@venice.test", date_joined=days_ago(2))
    response = register()
    assert response.status_code == 200 and "already exists" in response.content.decode()


@pytest.mark.parametrize(
    "fields",
    [{"is_active": True}, {"last_login": days_ago(10)}, {"is_staff": True}],
    ids=["active", "deactivated-after-login", "staff"],
)
def test_accounts_that_were_ever_used_are_never_claimed(register, make_user, fields):
    make_user("marco", **{"is_active": False, "date_joined": days_ago(30), **fields})
    assert register(email="new@venice.test").status_code == 200
    assert User.objects.filter(username="marco", email="marco@example.test").exists()


def test_purge_deletes_only_old_registrations_never_activated(make_user):
    make_user("old", is_active=False, date_joined=days_ago(10))
    make_user("recent", is_active=False, date_joined=days_ago(1))
    make_user("active", date_joined=days_ago(10))
    make_user("deactivated", is_active=False, date_joined=days_ago(10), last_login=days_ago(9))
    make_user("staff", is_active=False, is_staff=True, date_joined=days_ago(10))
    out = StringIO()
    call_command("purge_inactive_accounts", "--older-than-days", "7", stdout=out)
    assert "Deleted 1 account" in out.getvalue()
    assert sorted(User.objects.values_list("username", flat=True)) == ["active", "deactivated", "recent", "staff"]


def test_purge_defaults_to_the_activation_links_lifetime(make_user):
    make_user("old", is_active=False, date_joined=days_ago(3.1))
    make_user("recent", is_active=False, date_joined=days_ago(2.9))
    call_command("purge_inactive_accounts", stdout=StringIO())
    assert list(User.objects.values_list("username", flat=True)) == ["recent"]


def test_purge_dry_run_deletes_nothing(make_user):
    make_user("old", is_active=False, date_joined=days_ago(10))
    out = StringIO()
    call_command("purge_inactive_accounts", "--dry-run", stdout=out)
    assert "1 account(s) never activated would be deleted" in out.getvalue()
    assert User.objects.filter(username="old").exists()


def test_purge_refuses_a_negative_age():
    with pytest.raises(CommandError, match="0 or more"):
        call_command("purge_inactive_accounts", "--older-than-days", "-1")
