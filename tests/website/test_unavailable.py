"""A lost database connection answers 503 with Retry-After (website/unavailable.py), other errors stay 500."""

from __future__ import annotations

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path

from catalog.models import Category


def lost_connection(request):
    raise OperationalError("server closed the connection unexpectedly")


def closed_connection(request):
    raise InterfaceError("connection already closed")


def broken_view(request):
    raise ValueError("a bug")


def count_categories(request):
    return HttpResponse(str(Category.objects.count()))


urlpatterns = [
    path("lost/", lost_connection),
    path("closed/", closed_connection),
    path("broken/", broken_view),
    path("count/", count_categories),
]

handler500 = "website.unavailable.server_error"

pytestmark = pytest.mark.urls(__name__)


@pytest.mark.parametrize("url", ["/lost/", "/closed/"])
def test_a_lost_database_connection_answers_503_with_retry_after(client, url):
    response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "no-store" in response["Cache-Control"]


def test_another_exception_still_answers_500(client):
    client.raise_request_exception = False
    assert client.get("/broken/").status_code == 500


class LosesTheConnection:
    """A middleware whose own query finds the database gone (as the session's or the user's would)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("server closed the connection unexpectedly")


def test_a_connection_lost_outside_the_view_answers_503_too(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.LosesTheConnection"]
    client.raise_request_exception = False
    response = client.get("/count/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_the_sites_error_handler_is_the_one_that_answers_503():
    from website import urls

    assert urls.handler500 == "website.unavailable.server_error"


@override_settings(DEBUG_PROPAGATE_EXCEPTIONS=False)
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_terminated_answers_503(client):
    if connection.vendor != "postgresql":
        pytest.skip("terminating a session of the server is PostgreSQL's")
    assert client.get("/count/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    dsn = connection.get_connection_params()
    params = {k: v for k, v in dsn.items() if k in ("host", "port", "user", "dbname", "password") and v}
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    try:
        response = client.get("/count/")
    finally:
        connection.close()
    assert response.status_code == 503
