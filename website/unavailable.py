"""A lost database connection answers 503 with Retry-After, never 500.

While PostgreSQL restarts (a failover, a minor upgrade) a request that needs the database cannot
be answered; that is the server being briefly unavailable, not a bug of the site. Django raises
`OperationalError` (no connection could be made, the server closed it) or `InterfaceError` (the
connection object is already closed) from the view or from a template it renders; this middleware
turns those into `503 Service Unavailable` with `Retry-After`, so that clients, balancers and the
load test tell them from errors. Any other exception still reaches Django's 500 handling.
The same answer comes from `server_error` (the site's `handler500`) when the connection is lost
outside a view: in another middleware (the session's, the user's) or when the session is saved.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # a restart of this site's PostgreSQL takes about a second


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return unavailable(request, exception)


def unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exception)
    body = "The database is briefly unavailable; please retry.\n"
    response = HttpResponse(body, status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it while the exception is being handled, so sys.exc_info() names it."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return unavailable(request, exception)
    return defaults.server_error(request)
