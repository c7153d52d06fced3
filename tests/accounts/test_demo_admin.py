"""`manage.py demo_admin`: make run's superuser, created only in a database that has none."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def demo_admin(monkeypatch, password: str) -> int:
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", password)
    try:
        call_command("demo_admin")
    except SystemExit as leave:
        return leave.code
    return 0


def test_a_new_database_gets_a_superuser_that_logs_in_with_the_password(monkeypatch, client):
    assert demo_admin(monkeypatch, "kept-in-run-dir") == 0
    assert User.objects.get(username="admin").is_superuser
    assert client.login(username="admin", password="kept-in-run-dir")


def test_running_again_keeps_the_password(monkeypatch):
    demo_admin(monkeypatch, "first")
    assert demo_admin(monkeypatch, "first") == 0
    assert User.objects.get(username="admin").check_password("first")


def test_a_changed_password_is_left_alone_and_reported(monkeypatch):
    demo_admin(monkeypatch, "first")
    assert demo_admin(monkeypatch, "another") == 3
    assert User.objects.get(username="admin").check_password("first")


def test_a_database_with_its_own_superuser_gets_no_demo_admin(monkeypatch):
    User.objects.create_superuser("owner", "owner@example.org", "secret")
    assert demo_admin(monkeypatch, "demo") == 3
    assert not User.objects.filter(username="admin").exists()


def test_no_password_is_an_error(monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError):
        call_command("demo_admin")
