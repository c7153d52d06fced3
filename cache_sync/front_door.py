"""The front door: a middleware, first in MIDDLEWARE, that answers anonymous hits before Django's stack.

    MIDDLEWARE = ["cache_sync.front_door.FrontDoorMiddleware", ...]

A GET or HEAD without the session cookie, for a URL whose view is a
`@cached_page`, is looked up in Redis with one round trip; a hit is answered
from the stored bytes, before sessions, authentication, CSRF and messages run.
(Under WSGI, `cache_sync.wsgi.front_door` answers those hits even before Django
builds its request, and hands the misses' leases to this middleware.)
A miss takes the lease and goes through the whole stack; when the response comes
back here, after every other middleware, it is stored if Django's page-cache
rules allow (storable.py). A visitor with a session (a signed-in one's variant needs
`request.user`) is read in `process_view`, after authentication and before the
view's transaction (ATOMIC_REQUESTS) begins, so that the lease comes before the
snapshot the page is built from; it is stored here too.

The request's read is `request.cache_sync` (page_read.py), set here on every request
(None when it reads no cached page). A miss, followed through:

    answer()        the read: a lease, held by the request; None goes on to Django
    the stack       ... the decorator builds the page under that lease (read.built)
    finish()        read.finish: stored if Django's rules allow, else the lease freed
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

from .conf import request_settings
from .pages.decorator import cached_page_of, cached_view_at, read_for_view
from .pages.page_read import PageRead, hold, read_of
from .replicas import remember_writes, route_request

READ_BEFORE_DJANGO = "cache_sync.read"  # the environ key of a read the WSGI layer made


def anonymous_read(request: HttpRequest) -> PageRead | None:
    """For an anonymous GET or HEAD of a cached page, its read (a hit, or a lease to build under); else None."""
    if request.method not in ("GET", "HEAD") or request_settings().session_cookie in request.COOKIES:
        return None
    match = cached_view_at(request.path_info)
    if match is None:
        return None
    try:
        request.get_host()  # a host outside ALLOWED_HOSTS gets Django's 400, never a page
    except DisallowedHost:
        return None
    page = cached_page_of(match.func)
    if page is None:  # cached_view_at matched it for its page
        return None
    return PageRead.begin(page, page.key(match.kwargs), page.variant(request, match.route, anonymous=True))


GetResponse = Callable[[HttpRequest], HttpResponse]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponse]]


class FrontDoorMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    # Django gives a sync get_response to a sync middleware and an async one to a coroutine function
    # (markcoroutinefunction above): the casts say which one this call has.
    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        marked = iscoroutinefunction(self)  # as the condition itself, it would narrow `self` to a bare callable
        if marked:
            return self.__acall__(request)
        route_request(request)
        response = self.answer(request)
        if response is None:
            response = self.finish(request, cast(GetResponse, self.get_response)(request))
        remember_writes(response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        await sync_to_async(route_request)(request)
        response = await sync_to_async(self.answer)(request)
        if response is None:
            response = await cast(AsyncGetResponse, self.get_response)(request)
            response = await sync_to_async(self.finish)(request, response)
        await sync_to_async(remember_writes)(response)
        return response

    def answer(self, request: HttpRequest) -> HttpResponse | None:
        """The stored page for an anonymous GET, or None (and maybe a lease, held by the request)."""
        # Under the WSGI layer, the read is made already (and is not a hit).
        read = request.META.pop(READ_BEFORE_DJANGO) if READ_BEFORE_DJANGO in request.META else anonymous_read(request)
        hold(request, read)
        if read is None:
            return None
        if read.status == "hit":
            return read.hit(request)
        read.deferred = True
        return None

    def process_view(
        self, request: HttpRequest, view: object, view_args: tuple[object, ...], view_kwargs: dict[str, object]
    ) -> HttpResponse | None:
        """Read the page of a visitor with a session before ATOMIC_REQUESTS opens the view's transaction:
        a session loaded inside it would give the page a snapshot older than its lease. (A hit served here
        is a variant some earlier request of the view stored, past every middleware's process_view.)"""
        page = cached_page_of(view)
        if page is None or request.method not in ("GET", "HEAD") or read_of(request) is not None:
            return None
        read = read_for_view(page, request, view_kwargs)  # loads the session now, outside any transaction
        if read.status == "hit":
            return read.hit(request)
        read.deferred = True
        return None

    def finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Finish the request's read, after every other middleware: store the page or free its lease."""
        read = read_of(request)
        return response if read is None else read.finish(request, response)
