"""Rate limits of login, registration, activation resend and password reset, per IP and per account."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REFUSAL = "Too many attempts"


@pytest.fixture
def rates(settings):
    """Small limits: `rates(action, per_ip, per_account)`."""

    def set_rates(action: str, per_ip: str, per_account: str) -> None:
        settings.ACCOUNTS_RATE_LIMITS = {**getattr(settings, "ACCOUNTS_RATE_LIMITS", {}), action: (per_ip, per_account)}

    return set_rates


def login(client, username, password="wrong-Password-1", ip="10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_past_the_account_limit_refuses_even_the_right_password(client, make_user):
    make_user("alice")
    for _ in range(10):
        assert login(client, "alice").status_code == 200
    response = login(client, "ALICE", PASSWORD, ip="10.0.0.2")  # another IP, another case: the same account
    assert response.status_code == 429
    assert REFUSAL in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_past_the_ip_limit_is_refused_for_any_account(client, make_user, rates):
    rates("login", "3/m", "100/m")
    make_user("alice")
    for name in ("bob", "carol", "dave"):
        assert login(client, name).status_code == 200
    assert login(client, "alice", PASSWORD).status_code == 429
    assert login(client, "alice", PASSWORD, ip="10.0.0.9").status_code == 302  # another client is not limited


def test_a_refused_login_checks_no_password(client, make_user, rates, monkeypatch):
    rates("login", "1/m", "1/m")
    make_user("alice")
    login(client, "alice")
    checked = []
    monkeypatch.setattr(User, "check_password", lambda self, raw: checked.append(raw) or True)
    assert login(client, "alice").status_code == 429
    assert checked == []


def test_registration_past_the_ip_limit_is_refused_and_creates_nobody(register, rates):
    rates("register", "2/h", "100/h")
    for n in range(2):
        register(username=f"trader{n}", email=f"trader{n}@venice.test")
    response = register(username="trader9", email="trader9@venice.test")
    assert response.status_code == 429 and REFUSAL in response.content.decode()
    assert not User.objects.filter(username="trader9").exists()


def test_registration_past_the_email_limit_is_refused(client, rates):
    rates("register", "100/h", "2/h")
    data = {"username": "x", "email": "victim@venice.test", "password1": "a", "password2": "b"}
    for ip in ("10.0.0.1", "10.0.0.2"):
        assert client.post("/accounts/register/", data, REMOTE_ADDR=ip).status_code == 200
    assert client.post("/accounts/register/", data, REMOTE_ADDR="10.0.0.3").status_code == 429


def test_activation_resend_past_the_email_limit_sends_no_more_mail(client, make_user):
    make_user("late", is_active=False)
    for _ in range(3):
        client.post("/accounts/resend-activation/", {"email": "late@example.test"})
    response = client.post("/accounts/resend-activation/", {"email": "Late@Example.test"})
    assert response.status_code == 429 and REFUSAL in response.content.decode()
    assert len(mail.outbox) == 3


def test_password_reset_past_the_email_limit_sends_no_more_mail(client, make_user):
    make_user("alice")
    for _ in range(3):
        client.post("/accounts/password_reset/", {"email": "alice@example.test"})
    response = client.post("/accounts/password_reset/", {"email": "alice@example.test"}, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 429 and REFUSAL in response.content.decode()
    assert len(mail.outbox) == 3


def test_password_reset_past_the_ip_limit_is_refused(client, rates):
    rates("password-reset", "2/h", "100/h")
    for n in range(2):
        client.post("/accounts/password_reset/", {"email": f"someone{n}@example.test"})
    assert client.post("/accounts/password_reset/", {"email": "other@example.test"}).status_code == 429


def test_page_views_do_not_count(client, rates):
    rates("login", "1/m", "1/m")
    for _ in range(3):
        assert client.get("/accounts/login/").status_code == 200


def test_without_redis_the_limits_let_requests_through_instead_of_failing(client, make_user, cache_on):
    from tools.harness.ports import quiet_port

    make_user("alice")
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")  # nothing listens there
    assert login(client, "alice", PASSWORD).status_code == 302
