"""The cached read path of pages: `@cached_page("product:{slug}")` on a view.

A page is stored per variant (the URL pattern, the visitor, the query
parameters and headers the page depends on) inside its key's family, so
invalidating the key clears them all. Every response says `X-Cache: hit|miss`.
Misses are built under a lease (see store.py): one build per variant at a time,
and never a page older than the last invalidation. When Redis is away, pages
come from the database, uncached.

The read itself (lookup, lease, store or release) is a `PageRead` (page_read.py).
With the front door (front_door.py, first in MIDDLEWARE), anonymous hits never
reach the view, and the front door finishes every read after all middleware has
run. Without it, the decorator finishes its read on the view's response itself.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TYPE_CHECKING, Any, Protocol, cast, overload
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.urls import (
    NoReverseMatch,
    Resolver404,
    ResolverMatch,
    URLPattern,
    URLResolver,
    get_resolver,
    resolve,
    reverse,
)

from ..conf import get_config
from ..holes.markers import MARKING
from ..keys import KeyTemplate
from .built_requests import anonymous_request
from .page_read import PageRead, hold, read_of
from .session_reads import noting_session_reads

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

# A view: the request (and the URL's arguments) to its response; an async view's, awaited.
SyncView = Callable[..., HttpResponse]
AsyncView = Callable[..., Awaitable[HttpResponse]]
View = SyncView | AsyncView

SHARED_VISITOR = "in"  # the visitor part of the variant signed-in visitors share (a page with holes)
MAX_QUERY_VALUE = 64  # characters: a longer value of a named query parameter is served, never stored


@dataclass(frozen=True)
class CachedPage:
    template: KeyTemplate
    view: View
    query_params: tuple[str, ...]
    vary_on_user: bool
    vary_on_headers: tuple[str, ...]
    endpoint: View  # the decorated view, as the URLconf knows it
    holes: bool = False  # signed-in visitors share one copy, their parts filled per request (cache_sync/holes/)

    def key(self, kwargs: Mapping[str, object]) -> str:
        return self.template.text.format(**kwargs) if self.template.paths else self.template.text

    def variant(self, request: HttpRequest, route: str, *, anonymous: bool = False, shared: bool = False) -> str | None:
        """The variant's name in the family, or None when the request must not be stored (an odd query).
        `shared`: the copy every signed-in visitor of a page with holes shares ("in")."""
        visitor = SHARED_VISITOR if shared else "anon"
        user = None if anonymous or shared else getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if self.holes:
                visitor = SHARED_VISITOR
            elif self.vary_on_user:
                visitor = f"u{user.pk}.{user_fingerprint(user)}"
        query = sorted((name, request.GET[name]) for name in self.query_params if name in request.GET)
        if any(len(value) > MAX_QUERY_VALUE for _name, value in query):
            return None
        headers = [request.headers.get(name, "") for name in self.vary_on_headers]
        return "|".join([route, visitor, urlencode(query), *headers])

    @property
    def keyed_headers(self) -> frozenset[str]:
        return frozenset(name.lower() for name in self.vary_on_headers)

    def anonymous_request(self, kwargs: dict[str, str]) -> HttpRequest:
        """A request for this page as an anonymous visitor (at "/" if its URL cannot be reversed)."""
        name = url_name_of(self.endpoint)
        try:
            # reverse() takes an async view as well as a sync one; its stub names only sync ones.
            path = reverse(name or self.endpoint, kwargs=kwargs)  # type: ignore[arg-type]
        except NoReverseMatch:
            path = "/"
        return anonymous_request(path)


class SyncCachedView(Protocol):
    """A sync view under `@cached_page`: it carries its page."""

    cached_page: CachedPage

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse: ...


class AsyncCachedView(Protocol):
    """An async view under `@cached_page`: it carries its page."""

    cached_page: CachedPage

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, HttpResponse]: ...


class CachedPageDecorator(Protocol):
    @overload
    def __call__(self, view: SyncView) -> SyncCachedView: ...
    @overload
    def __call__(self, view: AsyncView) -> AsyncCachedView: ...


def url_name_of(
    view: object, patterns: Sequence[URLPattern | URLResolver] | None = None, namespace: str = ""
) -> str | None:
    """The full name ("accounts:public-profile") of the URL pattern that serves `view`: a view inside
    a namespaced include cannot be reversed by the function itself."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if found := url_name_of(view, pattern.url_patterns, inner):
                return found
        elif getattr(pattern, "callback", None) is view and pattern.name:
            return f"{namespace}{pattern.name}"
    return None


def user_fingerprint(user: AbstractBaseUser) -> str:
    """Part of a signed-in visitor's variant: renaming them starts new variants, which show the new name."""
    # Every user model names its USERNAME_FIELD; django-stubs declares it on AbstractUser only.
    names = get_config().user_fields or (user.USERNAME_FIELD,)  # type: ignore[attr-defined]
    values = "\x1f".join(str(getattr(user, name, "")) for name in names)
    return hashlib.blake2b(values.encode(), digest_size=6).hexdigest()


_pages: list[CachedPage] = []


def cached_page(
    key: str,
    *,
    query_params: tuple[str, ...] = (),
    vary_on_user: bool = True,
    vary_on_headers: tuple[str, ...] = (),
    holes: bool = False,
) -> CachedPageDecorator:
    """Cache a view's GET responses under `key`, rendered from the URL's keyword arguments.

    Only `query_params` and `vary_on_headers` enter the variant (other query
    parameters are ignored, so they cannot flood the cache); with `vary_on_user`,
    each signed-in visitor has variants of their own and anonymous visitors
    share one. With `holes`, every signed-in visitor shares one copy instead,
    whose `{% cache_sync_hole %}` parts are filled per request (cache_sync/holes/): the
    page must show nothing of the visitor outside its holes. Works on sync and
    async views.
    """
    template = KeyTemplate.parse(key)

    @overload
    def decorator(view: SyncView) -> SyncCachedView: ...
    @overload
    def decorator(view: AsyncView) -> AsyncCachedView: ...
    def decorator(view: View) -> SyncCachedView | AsyncCachedView:
        # The wrapper, a function, is given its page as an attribute below: the casts say it will have it.
        wrapper: SyncCachedView | AsyncCachedView
        if iscoroutinefunction(view):
            # iscoroutinefunction narrows `view` to a coroutine function of Any: it is one of a response.
            async_view = cast(AsyncView, view)

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                if request.method not in ("GET", "HEAD"):
                    return await async_view(request, *args, **kwargs)
                read = await sync_to_async(read_for_view)(page, request, kwargs)
                if read.status == "hit":
                    return read.hit(request)
                try:
                    with noting_session_reads(request) as shows_session:
                        response = await async_view(request, *args, **kwargs)
                        if hasattr(response, "render") and callable(response.render):
                            response = await sync_to_async(response.render)()
                except BaseException:
                    await sync_to_async(read.release)()
                    raise
                return await sync_to_async(finish_view)(read, request, response, shows_session())

            wrapper = cast(AsyncCachedView, markcoroutinefunction(async_wrapper))
        else:
            sync_view = cast(SyncView, view)  # iscoroutinefunction narrows its True branch only

            @wraps(view)
            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                if request.method not in ("GET", "HEAD"):
                    return sync_view(request, *args, **kwargs)
                read = read_for_view(page, request, kwargs)
                if read.status == "hit":
                    return read.hit(request)
                try:
                    with noting_session_reads(request) as shows_session:
                        response = _render(sync_view(request, *args, **kwargs))
                except BaseException:
                    read.release()
                    raise
                return finish_view(read, request, response, shows_session())

            wrapper = cast(SyncCachedView, sync_wrapper)

        page = CachedPage(template, view, tuple(query_params), vary_on_user, tuple(vary_on_headers), wrapper, holes)
        _pages.append(page)
        wrapper.cached_page = page
        return wrapper

    return decorator


def registered_pages() -> tuple[CachedPage, ...]:
    """Every `@cached_page` view imported so far."""
    return tuple(_pages)


def cached_page_of(view: object) -> CachedPage | None:
    """The page a `@cached_page` view serves, None for any other view."""
    page: CachedPage | None = getattr(view, "cached_page", None)
    return page


def read_for_view(page: CachedPage, request: HttpRequest, kwargs: Mapping[str, object]) -> PageRead:
    """The request's read of the page: the front door's if it made one, else one made now (and held)."""
    read = read_of(request)
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    deferred = read is not None and read.deferred
    if read is not None and not read.done:
        if signed_in != read.signed_in:
            # Signed in without the session cookie the front door knows (another auth scheme), or not
            # the visitor the WSGI layer found: its lease was for another variant than this page's.
            read.release()
        else:
            return _marking_holes(request, read.for_visitor(request))
    match = getattr(request, "resolver_match", None)
    read = PageRead.begin(
        page, page.key(kwargs), page.variant(request, match.route if match else ""), signed_in=signed_in
    )
    read.shares_holes = page.holes and signed_in
    read.deferred = deferred
    hold(request, read)
    return _marking_holes(request, read.for_visitor(request))


def _marking_holes(request: HttpRequest, read: PageRead) -> PageRead:
    """A build of the shared copy writes its holes as markers (the template tag asks the request)."""
    if read.shares_holes:
        setattr(request, MARKING, True)
    return read


def finish_view(read: PageRead, request: HttpRequest, response: HttpResponse, shows_session: bool) -> HttpResponse:
    """The view built the page: the front door finishes a read it took, else the read is finished now."""
    response = read.built(response, shows_session=shows_session)
    return response if read.deferred else read.finish(request, response)


def _render(response: HttpResponse) -> HttpResponse:
    if hasattr(response, "render") and callable(response.render):
        response.render()
    return response


def route_of(path: str) -> str:
    with contextlib.suppress(Exception):
        return resolve(path).route
    return ""


@lru_cache(maxsize=4096)
def cached_view_at(path: str) -> ResolverMatch | None:
    """The URL match of `path` if its view is a cached page (memoized: URLconfs do not change at run time)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match if hasattr(match.func, "cached_page") else None
