"""Requests that cache_sync builds itself, to rebuild, warm and verify pages as an anonymous visitor sees them.

A rebuilt or warmed page goes through the site's whole MIDDLEWARE chain (`through_site`),
as a visitor's request does, so it is stored with the same headers (`X-Frame-Options`,
`Referrer-Policy`, `Vary`, ...) and under the same store rules, at the front door.

Built here rather than with `django.test.RequestFactory` (runtime code must not
depend on the test tools), with the scheme and host of `CACHE_SYNC['BASE_URL']`,
else the first plain host of ALLOWED_HOSTS: a page that builds absolute URLs
gets the site's real address, never `testserver`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_urlconf, set_urlconf

from ..conf import get_config


def built_request_host() -> str | None:
    base_url = get_config().base_url
    if base_url:
        return urlsplit(base_url).netloc
    return next((host for host in settings.ALLOWED_HOSTS if host and host != "*" and not host.startswith(".")), None)


class BuiltRequest(HttpRequest):
    def __init__(self, path: str, scheme: str, host: str) -> None:
        super().__init__()
        self.method = "GET"
        self.path = self.path_info = path
        self._scheme = scheme
        name, _, port = host.partition(":")
        self.META = {
            "REQUEST_METHOD": "GET",
            "QUERY_STRING": "",
            "HTTP_HOST": host,
            "SERVER_NAME": name,
            "SERVER_PORT": port or ("443" if scheme == "https" else "80"),
        }

    def _get_scheme(self) -> str:
        return self._scheme


def anonymous_request(path: str = "/") -> HttpRequest:
    """A GET of `path` by an anonymous visitor, at the site's own address."""
    base_url = get_config().base_url
    scheme = urlsplit(base_url).scheme if base_url else ("https" if settings.SECURE_SSL_REDIRECT else "http")
    request = BuiltRequest(path, scheme, built_request_host() or "localhost")
    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
    return request


_handlers: dict[tuple[str, ...], BaseHandler] = {}


def through_site(request: HttpRequest) -> HttpResponseBase:
    """The response to `request` from the site's middleware chain and view, as Django's handler gives it.

    No request signals are sent (a rebuild runs inside another request's commit, whose database
    connections `request_finished` would close), and the response is not closed, for the same reason.
    """
    middleware = tuple(settings.MIDDLEWARE)
    handler = _handlers.get(middleware)
    if handler is None:
        handler = _handlers[middleware] = BaseHandler()
        handler.load_middleware()
    urlconf = get_urlconf()
    try:
        return handler.get_response(request)
    finally:
        set_urlconf(urlconf)  # get_response sets the ROOT_URLCONF for this thread
