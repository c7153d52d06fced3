"""The cached read path of pages: `@cached_page("product:{slug}")` on a view.

A page is stored per variant (the visitor and the query parameters the page
depends on) inside its key's family, so invalidating the key clears them all.
Every response says `X-Cache: hit|miss`. Misses are built under a lease (see
store.py): one build per key at a time, and never a page older than the last
invalidation. When Redis is away, pages come from the database, uncached.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, get_resolver, reverse

from . import stats
from .built_requests import anonymous_request
from .conf import get_config
from .delivery import has_pending_delivery
from .keys import KeyTemplate
from .signals import key_rebuilt
from .store import ReadResult, StoreUnavailable, get_store

logger = logging.getLogger(__name__)

CACHE_HEADER = "X-Cache"
_UNCACHED_HEADERS = {"set-cookie", "x-cache", "vary"}


@dataclass(frozen=True)
class CachedPage:
    template: KeyTemplate
    view: object
    query_params: tuple[str, ...]
    vary_on_user: bool
    endpoint: object  # the decorated view, as the URLconf knows it

    def anonymous_request(self, kwargs: dict[str, str]) -> HttpRequest:
        try:
            path = reverse(self.endpoint, kwargs=kwargs)
        except NoReverseMatch:
            path = "/"
        return anonymous_request(path)

    def variant(self, request: HttpRequest) -> str:
        user = getattr(request, "user", None)
        visitor = f"u{user.pk}" if self.vary_on_user and user and user.is_authenticated else "anon"
        query = urlencode(
            sorted((name, request.GET.get(name, "")) for name in self.query_params if name in request.GET)
        )
        return f"{visitor}|{query}"


_pages: list[CachedPage] = []


def cached_page(key: str, *, query_params: tuple[str, ...] = (), vary_on_user: bool = True):
    """Cache a view's GET responses under `key`, rendered from the URL's keyword arguments.

    Only `query_params` enter the variant (others are ignored, so they cannot
    flood the cache); with `vary_on_user`, each signed-in visitor has a variant of
    their own and anonymous visitors share one.
    """
    template = KeyTemplate.parse(key)

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            page_key = template.text.format(**kwargs) if template.paths else template.text
            return serve_page(request, page_key, page.variant(request), lambda: view(request, *args, **kwargs))

        page = CachedPage(template, view, tuple(query_params), vary_on_user, wrapper)
        _pages.append(page)
        wrapper.cached_page = page
        return wrapper

    return decorator


def serve_page(request: HttpRequest, key: str, variant: str, build) -> HttpResponse:
    try:
        result = _read_or_wait(key, variant)
    except StoreUnavailable as error:
        logger.warning("Redis unavailable, serving %s from the database: %s", key, error)
        stats.count("redis_error")
        return _mark(build(), "miss")
    if result.status == "hit":
        return _mark(decode_page(result.page), "hit")
    try:
        response = _render(build())
    except BaseException:
        if result.token:
            _release(key, variant, result.token)
        raise
    response.cache_sync_stored = False
    if result.status == "build" and is_cacheable(request, response) and not read_may_predate_lease():
        response.cache_sync_stored = _store(key, variant, response, result.token)
    elif result.token:
        _release(key, variant, result.token)
    return _mark(response, "miss")


def read_may_predate_lease() -> bool:
    """Whether the page may show data the lease cannot vouch for, so it must not be stored.

    The lease guards reads that begin after it was taken. Inside a transaction that
    has written, the page may show uncommitted rows; inside a transaction whose
    snapshot is taken once (SQLite, PostgreSQL REPEATABLE READ and above), the
    snapshot may predate the lease (e.g. `request.user` loaded under ATOMIC_REQUESTS).
    """
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block and (has_pending_delivery(connection) or not _snapshot_per_statement(connection)):
            return True
    return False


def _snapshot_per_statement(connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    # READ UNCOMMITTED behaves as READ COMMITTED in PostgreSQL.
    return connection.isolation_level in (None, IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED)


def _store(key: str, variant: str, response: HttpResponse, token: str) -> bool:
    config = get_config()
    try:
        stored = get_store(config.cache_alias).store(
            key, variant, encode_page(response), token=token, ttl_ms=int(config.timeout * 1000)
        )
    except StoreUnavailable as error:
        logger.warning("Redis unavailable, %s not stored: %s", key, error)
        stats.count("redis_error")
        return False
    # Refused: an invalidation took the lease since this page's database read.
    stats.count("stored" if stored else "stale_set_prevented")
    return stored


def _read_or_wait(key: str, variant: str) -> ReadResult:
    """Read; while another reader holds the lease, wait for its page (bounded)."""
    config = get_config()
    store = get_store(config.cache_alias)
    lease_ms = int(config.lease_timeout * 1000)
    deadline = time.monotonic() + config.lease_wait
    delay = 0.002
    while True:
        result = store.read(key, variant, guarded=config.guarded, lease_ms=lease_ms)
        if result.status != "wait":
            return result
        stats.count("wait")
        if time.monotonic() >= deadline:
            return ReadResult("wait")  # build from the database, store nothing
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _release(key: str, variant: str, token: str) -> None:
    with contextlib.suppress(StoreUnavailable):  # else the lease expires by itself
        get_store(get_config().cache_alias).release(key, variant, token)


def is_cacheable(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    # A page that showed one-time messages ("Profile saved") is for this response only.
    shown = getattr(request, "_messages", None)
    return not (shown is not None and shown.used and len(shown))


def encode_page(response: HttpResponse) -> bytes:
    headers = {name: value for name, value in response.items() if name.lower() not in _UNCACHED_HEADERS}
    return json.dumps(headers).encode() + b"\n" + response.content


def decode_page(page: bytes) -> HttpResponse:
    header_line, _, content = page.partition(b"\n")
    response = HttpResponse(content)
    for name, value in json.loads(header_line).items():
        response[name] = value
    return response


def _render(response: HttpResponse) -> HttpResponse:
    if hasattr(response, "render") and callable(response.render):
        response.render()
    return response


def _mark(response: HttpResponse, status: str) -> HttpResponse:
    stats.count(status)
    response[CACHE_HEADER] = status
    return response


def find_page(key: str) -> tuple[CachedPage, dict[str, str]] | None:
    """The cached view that serves `key`, and its URL keyword arguments."""
    get_resolver().url_patterns  # imports the views, whose decorators register the pages  # noqa: B018
    for page in _pages:
        kwargs = page.template.match(key)
        if kwargs is not None:
            return page, kwargs
    return None


def render_fresh(key: str) -> HttpResponse | None:
    """The anonymous page of `key` built from the database now, bypassing the cache; None if gone."""
    found = find_page(key)
    if found is None:
        return None
    page, kwargs = found
    try:
        return _render(page.view(page.anonymous_request(kwargs), **kwargs))
    except Http404:
        return None


def rebuild_pages(sender, rebuild: tuple[str, ...] = (), **kwargs) -> None:
    """keys_invalidated receiver: refill the pages whose rule says "rebuild", so the next reader hits."""
    for key in rebuild:
        rebuild_page(key)


def rebuild_page(key: str) -> None:
    """Refill `key` as an anonymous visitor sees it, under the same guard as reads."""
    found = find_page(key)
    if found is None:
        return
    page, kwargs = found
    request = page.anonymous_request(kwargs)
    try:
        response = serve_page(request, key, page.variant(request), lambda: page.view(request, **kwargs))
    except Http404:
        return
    stored = getattr(response, "cache_sync_stored", False)  # False on a hit: another reader refilled it first
    if stored:
        stats.count("rebuilt")
    key_rebuilt.send_robust(sender=CachedPage, key=key, stored=stored)
