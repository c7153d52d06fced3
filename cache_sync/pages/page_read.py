"""One request's read of one cached page, from the lookup to the store or the release: `PageRead`.

    read = PageRead.begin(page, key, variant)   # a hit, a lease to build under, or neither
    if read.status == "hit":
        return read.hit(request)                 # the stored page (or 304: If-None-Match)
    response = read.built(view(request))         # the view's page (X-Cache: miss)
    return read.finish(request, response)        # stored if it may be, else the lease freed

Whoever handles the request holds its read as `request.cache_sync` (`REQUEST_ATTRIBUTE`):
the front door sets it on every request it sees (None when the request reads no cached page),
and the decorator sets it when it makes the read itself. A read the front door took is
`deferred`: the decorator builds under it, and the front door finishes it after every other
middleware has run, so what they add (a cookie, `Vary`) counts in the store decision.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from ..conf import RequestSettings, get_config, request_settings
from ..delivery.delivery import catch_up
from ..edge.surrogate import add_surrogate_keys
from ..holes.csrf import random_chars
from ..holes.markers import Visitor, fill, filled_response, mark_filled, set_csrf_cookie
from ..holes.visitors import visitor_of_request
from ..replicas import FollowedFill
from ..store import stats
from ..store.breaker import StoreUnavailable, breaker
from ..store.page_store import ReadResult, get_store
from .etags import not_modified, page_etag
from .page_bytes import CACHE_HEADER, decode_page, encode_page, split_page
from .session_reads import holds_data
from .storable import refusal, snapshot_taken

if TYPE_CHECKING:
    from .decorator import CachedPage

logger = logging.getLogger(__name__)

REQUEST_ATTRIBUTE = "cache_sync"


@dataclass(eq=False)
class PageRead:
    """One read of one variant: a hit, a lease to build under ("build"), or neither ("wait", "skip",
    "unavailable": build and store nothing)."""

    page: CachedPage
    key: str
    variant: str | None
    result: ReadResult
    signed_in: bool = False
    # Taken while a transaction held an older snapshot: the page may miss a write the lease saw invalidated.
    snapshot_before_lease: bool = False
    replicas: FollowedFill | None = None  # with read replicas: how this build reads and is stored
    deferred: bool = False  # taken by the front door, which finishes it once every middleware has run
    view_ran: bool = False  # the response to finish is the view's page, not another middleware's answer
    shows_session: bool = False  # the view read what the session holds (session_reads.py)
    shares_holes: bool = False  # the copy signed-in visitors share: filled per visitor when served (cache_sync/holes/)
    visitor: Visitor | None = None  # whom it is filled for, if known before Django (holes/signed_in.py)
    stored: bool = False
    done: bool = False  # stored or released: finishing again does nothing

    @classmethod
    def begin(cls, page: CachedPage, key: str, variant: str | None, *, signed_in: bool = False) -> PageRead:
        """Read the variant; while another reader holds its lease, wait for its page (bounded)."""
        if variant is None:
            return cls(page, key, None, ReadResult("skip"), signed_in)
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
                    read = cls(page, key, variant, result, signed_in, snapshot_before_lease=older)
                    if result.token and config.replicas:
                        read.replicas = FollowedFill(result.position)
                    return read
                stats.count("wait")
                if time.monotonic() >= deadline:
                    return cls(page, key, variant, ReadResult("wait"), signed_in)  # build, store nothing
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        except StoreUnavailable as error:
            logger.warning("Redis unavailable, serving %s from the database: %s", key, error)
            stats.count("redis_error")
            return cls(page, key, variant, ReadResult("unavailable"), signed_in)

    @property
    def status(self) -> str:
        return self.result.status

    def hit(self, request: HttpRequest) -> HttpResponse:
        """The stored page, as this visitor is served it (304 if they hold it already: If-None-Match)."""
        response = self._keep_private(mark(decode_page(self.result.page), "hit"))
        if self.shares_holes:
            return self._fill(request, response)  # no 304: a filled page is new on every request (its token)
        return not_modified(request, response)

    def filled_before_django(self, head: bool) -> tuple[str, list[tuple[str, str]], bytes]:
        """A signed-in visitor's hit (`visitor` known) as the WSGI layer writes it: the status, the
        headers and the filled body of `hit`'s response, without making one. Every visitor of a copy
        gets the same headers but its length and their cookie: those are made once per process."""
        visitor = self.visitor
        if visitor is None or not (self.shares_holes and self.signed_in):
            raise ValueError("filled_before_django serves a signed-in visitor's hit of a copy with holes")
        header_line, _, body = (self.result.page or b"").partition(b"\n")
        body = fill(body, visitor)
        length = str(len(body))
        headers = [
            (name, length if name == "Content-Length" else value)
            for name, value in _filled_headers(header_line, visitor.csrf.used)
        ]
        if visitor.csrf.used:
            headers.append(("Set-Cookie", csrf_cookie_header(visitor.csrf.secret)))
        stats.count("hit")
        return "200 OK", headers, b"" if head else body

    def for_visitor(self, request: HttpRequest) -> PageRead:
        """This read, unless it is a hit of a page that shows the session, for a visitor whose session
        holds data: that page was built for an empty session, so this visitor's is built for them."""
        if self.status == "hit" and split_page(self.result.page).reads_session and holds_data(request):
            self.result = ReadResult("skip")
        return self

    def built(self, response: HttpResponse, *, shows_session: bool = False) -> HttpResponse:
        """The view's response: the page to finish (stored by `finish`, here or at the front door)."""
        self.view_ran = True
        self.shows_session = shows_session
        return mark(add_surrogate_keys(response, self.key), "miss")

    def finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Store the finished response under the lease if it is the view's page and may be stored,
        else free the lease; returns the response as the visitor gets it."""
        if self.done:
            return response
        if not self.view_ran:
            self.release()  # a middleware answered instead of the view: that answer is not the page
            return response
        self._end()
        if self.status == "build":
            reason = "snapshot" if self.snapshot_before_lease else refusal(request, response, self.page.keyed_headers)
            if reason is None and self.shows_session and holds_data(request):
                reason = "session"  # a basket, a "recently viewed" list: this visitor's alone
            if reason is None:
                if not response.has_header("ETag"):
                    response["ETag"] = page_etag(self.variant or "", response)
                self.stored = self._store(response)
            else:
                stats.count("not_stored")
                self._free_lease()
        response = self._keep_private(response)
        return self._fill(request, response) if self.shares_holes else response

    def release(self) -> None:
        """Free the lease without storing (the build failed, or what was built is not the page)."""
        if not self.done:
            self._end()
            self._free_lease()

    def _end(self) -> None:
        self.done = True
        if self.replicas is not None:
            self.replicas.end()

    def _free_lease(self) -> None:
        if self.result.token:
            with contextlib.suppress(StoreUnavailable):  # else the lease expires by itself
                get_store(get_config().cache_alias).release(self.key, self.variant or "", self.result.token)

    def _store(self, response: HttpResponse) -> bool:
        config = get_config()
        try:
            stored = get_store(config.cache_alias).store(
                self.key,
                self.variant or "",
                encode_page(response, reads_session=self.shows_session),
                token=self.result.token,
                ttl_ms=int(config.timeout * 1000),
                max_variants=config.max_variants,
                # A page read from a replica behind the family's last invalidation is refused.
                replayed=self.replicas.replayed_for_store() if self.replicas else "",
            )
        except StoreUnavailable as error:
            logger.warning("Redis unavailable, %s not stored: %s", self.key, error)
            stats.count("redis_error")
            return False
        # Refused: an invalidation took the lease since this page's database read (or the family is full).
        stats.count("stored" if stored else "stale_set_prevented")
        return bool(stored)

    def _fill(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return filled_response(response, self.visitor or visitor_of_request(request), request)

    def _keep_private(self, response: HttpResponse) -> HttpResponse:
        return keep_private(response) if self.signed_in else response


def keep_private(response: HttpResponse) -> HttpResponse:
    """A signed-in visitor's page is theirs: no shared cache (a CDN, a proxy) may keep it.
    Added after the store decision, which refuses what a view itself marked private."""
    patch_cache_control(response, private=True)
    patch_vary_headers(response, ("Cookie",))
    return response


@functools.lru_cache(maxsize=512)
def _filled_headers(header_line: bytes, csrf_used: bool) -> tuple[tuple[str, str], ...]:
    """The headers of a signed-in hit of a stored copy, filled (`hit`, then `filled_response`), but its cookie."""
    response = decode_page(header_line + b"\n")
    response[CACHE_HEADER] = "hit"
    keep_private(response)
    mark_filled(response, csrf_used=csrf_used)
    return tuple(response.items())


def csrf_cookie_header(secret: str) -> str:
    """The Set-Cookie value of the CSRF cookie, as Django's WSGI handler writes it at this second."""
    before, after = _csrf_cookie_around_secret(int(time.time()), request_settings())
    return before + secret + after


@functools.lru_cache(maxsize=2)
def _csrf_cookie_around_secret(second: int, known: RequestSettings) -> tuple[str, str]:
    """The CSRF cookie's Set-Cookie value made by Django once a second (its expiry is a date in
    seconds), either side of the secret: a stand-in of the same alphabet, which needs no quoting."""
    stand_in = random_chars()
    expires = None if known.csrf_cookie_age is None else http_date(second + known.csrf_cookie_age)
    scratch = HttpResponseBase()
    set_csrf_cookie(scratch, stand_in, expires=expires)
    before, _, after = scratch.cookies[known.csrf_cookie].output(header="").partition(stand_in)
    return before, after


def read_of(request: HttpRequest) -> PageRead | None:
    """The request's read (`request.cache_sync`), if one was made."""
    read: PageRead | None = getattr(request, REQUEST_ATTRIBUTE, None)
    return read


def hold(request: HttpRequest, read: PageRead | None) -> PageRead | None:
    setattr(request, REQUEST_ATTRIBUTE, read)
    return read


def mark(response: HttpResponse, status: str) -> HttpResponse:
    stats.count(status)
    response[CACHE_HEADER] = status
    return response
