"""Fixtures of the bad-input suite: a small catalogue, a user, the staff API on, and the WSGI application
as gunicorn calls it (cache_sync's front door before Django), for requests the test client would tidy up."""

from __future__ import annotations

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import RequestFactory

from accounts.models import User
from tests.factories import make_category, make_product

PASSWORD = "silk-road-Caravan-42"
STAFF_TOKEN = "hardening-staff-token"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def rows(db):
    make_product(make_category("tea"), "jade-teapot")
    return User.objects.create_user("alice", email="alice@example.test", password=PASSWORD)


@pytest.fixture
def staff_api_on(settings):
    settings.STAFF_API_TOKEN = STAFF_TOKEN
    return {"Authorization": f"Bearer {STAFF_TOKEN}"}


class EnvironFactory(RequestFactory):
    """A WSGI environ, built as the test client builds it (percent-decoded, latin-1 path) but not sent."""

    def request(self, **request):
        return self._base_environ(**request)


@pytest.fixture
def wsgi():
    """Call `website.wsgi.application` with one request; returns (status, headers, body)."""
    from website.wsgi import application

    def call(method: str, path: str, **extra) -> tuple[int, dict[str, str], bytes]:
        environ = EnvironFactory().generic(method, path, **extra)
        started = {}

        def start_response(status, headers, exc_info=None):
            started.update(status=int(status.split()[0]), headers=dict(headers))

        # As the test client does: the request must not close the test's database connection.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            result = application(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return started["status"], started["headers"], body

    return call
