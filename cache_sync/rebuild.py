"""Pages built by cache_sync itself: refilled after a `rebuild` rule's change, warmed, verified.

Each is built as an anonymous visitor sees it, with a request at the site's own
address (built_requests.py), through the same guarded read path as any reader.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.urls import get_resolver

from . import stats
from .pages import CachedPage, _pages, _render, read_page, route_of, store_or_release
from .signals import key_rebuilt


def find_page(key: str) -> tuple[CachedPage, dict[str, str]] | None:
    """The cached view that serves `key`, and its URL keyword arguments."""
    get_resolver().url_patterns  # imports the views, whose decorators register the pages  # noqa: B018
    for page in _pages:
        kwargs = page.template.match(key)
        if kwargs is not None:
            return page, kwargs
    return None


def anonymous_variant(page: CachedPage, kwargs: dict[str, str]) -> str | None:
    request = page.anonymous_request(kwargs)
    return page.variant(request, route_of(request.path), anonymous=True)


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
    read = read_page(page, key, page.variant(request, route_of(request.path), anonymous=True))
    stored = False
    if read.status != "hit":  # a hit: another reader refilled it first
        try:
            response = _render(page.view(request, **kwargs))
        except Http404:
            return
        stored = store_or_release(read, request, response)
    if stored:
        stats.count("rebuilt")
    key_rebuilt.send_robust(sender=CachedPage, key=key, stored=stored)
