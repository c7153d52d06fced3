"""Pages built by cache_sync itself: refilled after a `rebuild` rule's change, warmed, verified.

Each is built as an anonymous visitor sees it, with a request at the site's own
address (built_requests.py), through the same guarded read path as any reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse, QueryDict
from django.urls import get_resolver

from ..holes.markers import MARKING
from ..signals import key_rebuilt
from ..store import stats
from .built_requests import through_site
from .decorator import (
    SHARED_VISITOR,
    CachedPage,
    SyncView,
    _pages,
    _render,
    cached_view_at,
    route_of,
    user_fingerprint,
)
from .page_read import PageRead, read_of

if TYPE_CHECKING:  # django-stubs' name for the site's user model (AUTH_USER_MODEL), a stub's only
    from django.contrib.auth.models import _User


class UnbuildableVariant(Exception):
    """A stored variant that cannot be built again (a visitor since renamed or deleted, an unknown route)."""


def pages_for(key: str) -> list[tuple[CachedPage, dict[str, str]]]:
    """Every cached view that serves `key` (several URL patterns may share a template), with its URL arguments."""
    get_resolver().url_patterns  # imports the views, whose decorators register the pages  # noqa: B018
    found = []
    for page in _pages:
        kwargs = page.template.match(key)
        if kwargs is not None:
            found.append((page, kwargs))
    return found


def find_page(key: str) -> tuple[CachedPage, dict[str, str]] | None:
    """The first cached view that serves `key`, and its URL keyword arguments."""
    return next(iter(pages_for(key)), None)


def render_fresh(key: str) -> HttpResponse | None:
    """The anonymous page of `key` built from the database now, bypassing the cache; None if gone."""
    found = find_page(key)
    if found is None:
        return None
    page, kwargs = found
    try:
        return _render(_called(page)(page.anonymous_request(kwargs), **kwargs))
    except Http404:
        return None


def render_variant(key: str, variant: str) -> HttpResponse | None:
    """The page of one stored variant (`route|visitor|query|headers`) built from the database now; None if gone."""
    for page, kwargs in pages_for(key):
        request = page.anonymous_request(kwargs)
        route = route_of(request.path)
        if variant.startswith(f"{route}|"):
            break
    else:
        raise UnbuildableVariant("no URL pattern of this key has its route")
    visitor, _, rest = variant[len(route) + 1 :].partition("|")
    query, _, rest = rest.partition("|")
    request.META["QUERY_STRING"] = query
    request.GET = QueryDict(query)
    count = len(page.vary_on_headers)
    for name, value in zip(page.vary_on_headers, rest.split("|", count - 1) if count else [], strict=False):
        if value:
            request.META[f"HTTP_{name.upper().replace('-', '_')}"] = value
    if visitor == SHARED_VISITOR:
        setattr(request, MARKING, True)  # the copy signed-in visitors share: its holes as markers
    elif visitor != "anon":
        request.user = _visitor(visitor)
    try:
        if iscoroutinefunction(page.view):
            return _render(async_to_sync(page.view)(request, **kwargs))
        return _render(_called(page)(request, **kwargs))
    except Http404:
        return None


def _called(page: CachedPage) -> SyncView:
    # The page's view, called as a sync one, as these callers always have (an async view would give
    # them its coroutine); render_variant converts an async view first.
    return cast(SyncView, page.view)


def _visitor(visitor: str) -> _User:
    """The user of a signed-in variant `u<pk>.<fingerprint>`, if that is still who they are."""
    pk, _, fingerprint = visitor[1:].partition(".")
    user = get_user_model()._default_manager.filter(pk=pk).first()
    if user is None or user_fingerprint(user) != fingerprint:
        raise UnbuildableVariant(f"visitor {pk} was deleted or renamed since (this variant is never served)")
    return user


def rebuild_pages(sender: object, rebuild: tuple[str, ...] = (), **kwargs: object) -> None:
    """keys_invalidated receiver: refill the pages whose rule says "rebuild", so the next reader hits."""
    for key in rebuild:
        rebuild_page(key)


def rebuild_page(key: str) -> None:
    """Refill `key` as an anonymous visitor sees it, through the site's middleware and the same guard as reads."""
    found = find_page(key)
    if found is None:
        return
    page, kwargs = found
    request = page.anonymous_request(kwargs)
    match = cached_view_at(request.path_info)
    if match is not None and match.func is page.endpoint:
        response = through_site(request)  # read, built and stored as a visitor's miss is
        read = read_of(request)
        if response.status_code == 404:
            return
    else:  # its URL cannot be reversed: the view alone, at "/"
        read = PageRead.begin(page, key, page.variant(request, route_of(request.path), anonymous=True))
        if read.status != "hit":  # a hit: another reader refilled it first
            try:
                response = _render(_called(page)(request, **kwargs))
            except Http404:
                read.release()
                return
            read.view_ran = True
            read.finish(request, response)
    stored = read is not None and read.stored
    if stored:
        stats.count("rebuilt")
    key_rebuilt.send_robust(sender=CachedPage, key=key, stored=stored)
