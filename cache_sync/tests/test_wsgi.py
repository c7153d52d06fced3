"""The front door as a WSGI layer: anonymous hits answered before Django handles the request."""

from wsgiref.util import setup_testing_defaults

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from django.test import RequestFactory, override_settings

from cache_sync.tests.testapp import middleware
from cache_sync.wsgi import front_door

pytestmark = pytest.mark.django_db(transaction=True)


def call(app, method: str = "GET", path: str = "/books/odes/", **headers) -> tuple[str, dict, bytes]:
    environ = getattr(RequestFactory(), method.lower())(path, **headers).environ
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    body = app(environ, start_response)
    try:
        content = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return answer["status"], answer["headers"], content


def test_a_hit_is_answered_without_django_handling_the_request(app, odes, requests_django_handled):
    status, headers, first = call(app)
    assert (status, headers["X-Cache"], len(requests_django_handled)) == ("200 OK", "miss", 1)
    middleware.calls.clear()
    status, headers, second = call(app)
    assert (status, headers["X-Cache"]) == ("200 OK", "hit")
    assert second == first and b"Odes" in second
    assert len(requests_django_handled) == 1 and middleware.calls == []


def test_a_head_hit_has_the_headers_and_no_body(app, odes):
    _, get_headers, _ = call(app)
    status, headers, content = call(app, "HEAD")
    assert (status, headers["X-Cache"], content) == ("200 OK", "hit", b"")
    assert headers["Content-Type"] == get_headers["Content-Type"]


def test_a_miss_hands_its_lease_to_the_middleware_which_stores_the_page(app, odes, page_family):
    """Were the middleware to read again, it would meet the layer's own lease, wait, and store nothing."""
    assert call(app)[1]["X-Cache"] == "miss"
    assert any(field.startswith(b"b:") for field in page_family("book:odes"))
    assert not any(field.startswith(b"l:") for field in page_family("book:odes"))


def test_a_visitor_with_a_session_cookie_goes_to_django(app, odes, requests_django_handled):
    call(app)
    call(app, HTTP_COOKIE="sessionid=abc")
    assert len(requests_django_handled) == 2


def test_a_host_outside_allowed_hosts_is_left_to_django(app, odes, requests_django_handled):
    """Django decides (its CommonMiddleware answers 400); the layer never answers for such a host."""
    call(app)
    call(app, HTTP_HOST="evil.example")
    assert len(requests_django_handled) == 2


def test_the_layer_refuses_a_project_without_the_front_door_middleware_first(settings):
    with override_settings(MIDDLEWARE=settings.MIDDLEWARE[1:]), pytest.raises(ImproperlyConfigured, match="MIDDLEWARE"):
        front_door(get_wsgi_application())


def test_a_path_beyond_latin1_reaches_django_as_it_was_sent(app, odes):
    """The layer's request must not rewrite the server's environ (Django would then fail to re-encode it)."""
    environ = {"PATH_INFO": "/books/\u00d0\u00b0des/", "HTTP_HOST": "testserver"}  # UTF-8 bytes as Latin-1 (PEP 3333)
    setup_testing_defaults(environ)
    answer = {}
    body = app(environ, lambda status, headers, exc_info=None: answer.update(status=status))
    getattr(body, "close", lambda: None)()
    assert answer["status"].startswith("404")
