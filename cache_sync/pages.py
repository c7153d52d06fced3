"""The cached read path of pages: `@cached_page("product:{slug}")` on a view.

A page is stored per variant (the URL pattern, the visitor, the query
parameters and headers the page depends on) inside its key's family, so
invalidating the key clears them all. Every response says `X-Cache: hit|miss`.
Misses are built under a lease (see store.py): one build per variant at a time,
and never a page older than the last invalidation. When Redis is away, pages
come from the database, uncached.

With the front door (front_door.py, first in MIDDLEWARE), anonymous hits never
reach the view, and every store happens after all middleware has run. Without
it, the decorator stores the view's response itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, URLResolver, get_resolver, resolve, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers

from . import stats
from .breaker import StoreUnavailable, breaker
from .built_requests import anonymous_request
from .conf import get_config
from .delivery import catch_up
from .keys import KeyTemplate
from .page_bytes import CACHE_HEADER, decode_page, encode_page
from .replicas import FollowedFill
from .storable import refusal, snapshot_taken
from .store import ReadResult, get_store

logger = logging.getLogger(__name__)

MAX_QUERY_VALUE = 64  # characters: a longer value of a named query parameter is served, never stored


@dataclass(frozen=True)
class CachedPage:
    template: KeyTemplate
    view: object
    query_params: tuple[str, ...]
    vary_on_user: bool
    vary_on_headers: tuple[str, ...]
    endpoint: object  # the decorated view, as the URLconf knows it

    def key(self, kwargs: dict) -> str:
        return self.template.text.format(**kwargs) if self.template.paths else self.template.text

    def variant(self, request: HttpRequest, route: str, *, anonymous: bool = False) -> str | None:
        """The variant's name in the family, or None when the request must not be stored (an odd query)."""
        visitor = "anon"
        user = None if anonymous else getattr(request, "user", None)
        if self.vary_on_user and user is not None and user.is_authenticated:
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
            path = reverse(name or self.endpoint, kwargs=kwargs)
        except NoReverseMatch:
            path = "/"
        return anonymous_request(path)


def url_name_of(view, patterns=None, namespace: str = "") -> str | None:
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


def user_fingerprint(user) -> str:
    """Part of a signed-in visitor's variant: renaming them starts new variants, which show the new name."""
    names = get_config().user_fields or (user.USERNAME_FIELD,)
    values = "\x1f".join(str(getattr(user, name, "")) for name in names)
    return hashlib.blake2b(values.encode(), digest_size=6).hexdigest()


_pages: list[CachedPage] = []


def cached_page(
    key: str, *, query_params: tuple[str, ...] = (), vary_on_user: bool = True, vary_on_headers: tuple[str, ...] = ()
):
    """Cache a view's GET responses under `key`, rendered from the URL's keyword arguments.

    Only `query_params` and `vary_on_headers` enter the variant (other query
    parameters are ignored, so they cannot flood the cache); with `vary_on_user`,
    each signed-in visitor has variants of their own and anonymous visitors
    share one. Works on sync and async views.
    """
    template = KeyTemplate.parse(key)

    def decorator(view):
        if iscoroutinefunction(view):

            @wraps(view)
            async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
                if request.method not in ("GET", "HEAD"):
                    return await view(request, *args, **kwargs)
                read = await sync_to_async(read_for_view)(page, request, kwargs)
                if read.status == "hit":
                    return serve_hit(read)
                try:
                    response = await view(request, *args, **kwargs)
                    if hasattr(response, "render") and callable(response.render):
                        response = await sync_to_async(response.render)()
                except BaseException:
                    await sync_to_async(release)(read)
                    raise
                return await sync_to_async(_after_view)(read, request, response)

            markcoroutinefunction(wrapper)
        else:

            @wraps(view)
            def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
                if request.method not in ("GET", "HEAD"):
                    return view(request, *args, **kwargs)
                read = read_for_view(page, request, kwargs)
                if read.status == "hit":
                    return serve_hit(read)
                try:
                    response = _render(view(request, *args, **kwargs))
                except BaseException:
                    release(read)
                    raise
                return _after_view(read, request, response)

        page = CachedPage(template, view, tuple(query_params), vary_on_user, tuple(vary_on_headers), wrapper)
        _pages.append(page)
        wrapper.cached_page = page
        return wrapper

    return decorator


@dataclass
class PageRead:
    """One request's read of one variant: a hit, a lease to build under, or neither."""

    page: CachedPage
    key: str
    variant: str | None
    result: ReadResult
    signed_in: bool = False
    # Taken while a transaction held an older snapshot: the page may miss a write the lease saw invalidated.
    snapshot_before_lease: bool = False
    replicas: FollowedFill | None = None  # with read replicas: how this build reads and is stored

    @property
    def status(self) -> str:
        return self.result.status

    def end(self) -> None:
        if self.replicas is not None:
            self.replicas.end()


def read_page(page: CachedPage, key: str, variant: str | None, *, signed_in: bool = False) -> PageRead:
    """Read the variant; while another reader holds its lease, wait for its page (bounded)."""
    if variant is None:
        return PageRead(page, key, None, ReadResult("skip"), signed_in)
    config = get_config()
    store = get_store(config.cache_alias)
    lease_ms = int(config.lease_timeout * 1000)
    deadline = time.monotonic() + config.lease_wait
    delay = 0.002
    try:
        if breaker.owes_catch_up:
            catch_up()
        while True:
            result = store.read(key, variant, guarded=config.guarded, lease_ms=lease_ms)
            if result.status != "wait":
                older = result.status == "build" and snapshot_taken()
                read = PageRead(page, key, variant, result, signed_in, snapshot_before_lease=older)
                if result.token and config.replicas:
                    read.replicas = FollowedFill(result.position)
                return read
            stats.count("wait")
            if time.monotonic() >= deadline:
                return PageRead(page, key, variant, ReadResult("wait"), signed_in)  # build, store nothing
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    except StoreUnavailable as error:
        logger.warning("Redis unavailable, serving %s from the database: %s", key, error)
        stats.count("redis_error")
        return PageRead(page, key, variant, ReadResult("unavailable"), signed_in)


def read_for_view(page: CachedPage, request: HttpRequest, kwargs: dict) -> PageRead:
    """The request's read of the page: the front door's if it made one, else one made now."""
    read = getattr(request, "_cache_sync_read", None)
    if read is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not read.signed_in:
            # Signed in without the session cookie the front door knows (another auth scheme):
            # its lease was for the anonymous variant, which this page is not.
            release(read)
            request._cache_sync_read = None
        else:
            return read
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    return read_page(page, page.key(kwargs), page.variant(request, match.route if match else ""), signed_in=signed_in)


def _after_view(read: PageRead, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if getattr(request, "_cache_sync_front_door", False):
        request._cache_sync_read = read  # the front door stores (and marks) once every middleware has run
        request._cache_sync_view_ran = True
        return mark(response, "miss")
    store_or_release(read, request, response)
    return keep_private(mark(response, "miss"), read)


def store_or_release(read: PageRead, request: HttpRequest, response: HttpResponse) -> bool:
    """Store the finished response under the lease if it may be stored, else free the lease."""
    read.end()
    if read.status != "build":
        return False
    reason = "snapshot" if read.snapshot_before_lease else refusal(request, response, read.page.keyed_headers)
    if reason is not None:
        stats.count("not_stored")
        release(read)
        return False
    return _store(read, response)


def _store(read: PageRead, response: HttpResponse) -> bool:
    config = get_config()
    try:
        stored = get_store(config.cache_alias).store(
            read.key,
            read.variant,
            encode_page(response),
            token=read.result.token,
            ttl_ms=int(config.timeout * 1000),
            max_variants=config.max_variants,
            # A page read from a replica behind the family's last invalidation is refused.
            replayed=read.replicas.replayed_for_store() if read.replicas else "",
        )
    except StoreUnavailable as error:
        logger.warning("Redis unavailable, %s not stored: %s", read.key, error)
        stats.count("redis_error")
        return False
    # Refused: an invalidation took the lease since this page's database read (or the family is full).
    stats.count("stored" if stored else "stale_set_prevented")
    return stored


def release(read: PageRead) -> None:
    read.end()
    if read.result.token:
        with contextlib.suppress(StoreUnavailable):  # else the lease expires by itself
            get_store(get_config().cache_alias).release(read.key, read.variant, read.result.token)


def serve_hit(read: PageRead) -> HttpResponse:
    return keep_private(mark(decode_page(read.result.page), "hit"), read)


def mark(response: HttpResponse, status: str) -> HttpResponse:
    stats.count(status)
    response[CACHE_HEADER] = status
    return response


def keep_private(response: HttpResponse, read: PageRead) -> HttpResponse:
    """A signed-in visitor's page is theirs: no shared cache (a CDN, a proxy) may keep it.
    Added after the store decision, which refuses what a view itself marked private."""
    if read.signed_in:
        patch_cache_control(response, private=True)
        patch_vary_headers(response, ("Cookie",))
    return response


def _render(response: HttpResponse) -> HttpResponse:
    if hasattr(response, "render") and callable(response.render):
        response.render()
    return response


def route_of(path: str) -> str:
    with contextlib.suppress(Exception):
        return resolve(path).route
    return ""
