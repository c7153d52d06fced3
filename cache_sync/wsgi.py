"""The front door as a WSGI layer: anonymous hits answered before Django handles the request.

    # website/wsgi.py
    application = front_door(get_wsgi_application())

For a hit (an anonymous visitor's, or a signed-in one's of a page with holes: signed_in.py),
this skips what every Django request costs even when its view does
nothing: the request signals (which close and check database connections and
caches), the URL resolution and middleware of the handler, and the
`HttpResponse`: the stored headers and body go straight to the server (a signed-in
visitor's copy is filled first, by the same `PageRead.hit` as in Django). Anything
else (a miss, a signed-in visitor of another page, a POST) goes to Django, where
`FrontDoorMiddleware`, which must come first in MIDDLEWARE, takes over the read
made here (a miss's lease) and stores the page after every middleware has run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIRequest

logger = logging.getLogger(__name__)

MIDDLEWARE = "cache_sync.front_door.FrontDoorMiddleware"


def front_door(application: WSGIApplication) -> WSGIApplication:
    """Wrap Django's WSGI application (after `django.setup()`) so that anonymous hits never reach it."""
    # Imported here: a project's wsgi.py imports this module before Django is set up.
    from .conf import request_settings
    from .front_door import READ_BEFORE_DJANGO, anonymous_read
    from .holes.signed_in import signed_in_read
    from .pages.page_bytes import hit_as_sent
    from .store import stats

    if not settings.MIDDLEWARE or settings.MIDDLEWARE[0] != MIDDLEWARE:
        raise ImproperlyConfigured(f"cache_sync.wsgi.front_door needs MIDDLEWARE[0] = {MIDDLEWARE!r}")

    def serve(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = WSGIRequest(dict(environ))  # it rewrites its environ's PATH_INFO: Django's own must stay as sent
        try:
            read = anonymous_read(request)
            if read is None and request_settings().session_cookie in request.COOKIES:
                read = signed_in_read(request)
                if read is not None and read.status == "hit":
                    if read.visitor is None:  # the shared copy, and whom to fill it for not known: Django's
                        environ[READ_BEFORE_DJANGO] = None
                        return application(environ, start_response)
                    status, headers, body = read.filled_before_django(head=request.method == "HEAD")
                    start_response(status, headers)
                    return [body]
        except Exception:  # Django's handler will meet the same error and answer it as it answers errors
            logger.exception("cache_sync front door: passing %s to Django", request.path)
            return application(environ, start_response)
        if read is None or read.status != "hit":
            environ[READ_BEFORE_DJANGO] = read
            return application(environ, start_response)
        if "HTTP_IF_NONE_MATCH" in environ:  # a 304 if the visitor holds this page already
            response = read.hit(request)
            start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
            return [b"" if request.method == "HEAD" else response.content]
        stats.count("hit")
        headers, body = hit_as_sent(read.result.page)
        start_response("200 OK", headers)
        return [b"" if request.method == "HEAD" else body]

    return serve
