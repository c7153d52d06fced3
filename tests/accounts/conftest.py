"""Fixtures of the accounts tests: a valid registration and ready-made users."""

from __future__ import annotations

import re

import pytest

from accounts.models import User

PASSWORD = "silk-road-Caravan-42"


@pytest.fixture
def registration_data() -> dict[str, str]:
    return {"username": "marco", "email": "marco@venice.test", "password1": PASSWORD, "password2": PASSWORD}


@pytest.fixture
def register(client, registration_data):
    """POST the registration form, with `overrides` of the valid data."""

    def post(**overrides):
        return client.post("/accounts/register/", {**registration_data, **overrides})

    return post


@pytest.fixture
def make_user(django_user_model):
    def make(username: str = "alice", *, is_active: bool = True, **fields) -> User:
        fields.setdefault("email", f"{username}@example.test")
        return django_user_model.objects.create_user(username, password=PASSWORD, is_active=is_active, **fields)

    return make


def activation_link(message) -> str:
    """The site-relative activation path in a welcome mail's plain text."""
    match = re.search(r"https?://[^/\s]+(/accounts/activate/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def client_factory():
    """A test client of its own per visitor: signed in as `user`, or anonymous for None."""
    from django.test import Client

    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
