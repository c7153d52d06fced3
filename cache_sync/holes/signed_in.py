"""A signed-in visitor's read of a page with holes, made before Django: `signed_in_read`.

Django authenticates a visitor from the session (a load), then the user's row (a query) and
the session's hash of their password. Here the session is loaded by its own engine, and the
user's row is replaced by the visitor's record (visitors.py: the hash, whether the backend lets
them in, their fragments), kept true by the user model's rule. So a hit costs the session's
read (none for signed cookies, one GET for the cache engine), then the record's and the page's,
together (one round trip).

Supported: the `signed_cookies` and `cache` session engines, Django's ModelBackend, CSRF in a
cookie. Anything else (another engine or backend, a session that holds data besides the login,
a malformed CSRF cookie, a record or page not stored yet, a hash that does not match) is
answered by Django's full stack, which fills the same shared copy there (the normal path).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from importlib import import_module
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core import signing
from django.core.exceptions import DisallowedHost, ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from ..conf import RequestSettings, get_config, request_settings
from ..pages.decorator import cached_page_of, cached_view_at
from ..pages.page_read import PageRead
from ..pages.session_reads import UNSHOWN_KEYS
from ..store.breaker import StoreUnavailable, breaker
from ..store.page_store import ReadResult, get_store
from .csrf import CsrfFill, cookie_is_wellformed
from .markers import Visitor
from .visitors import RECORD_VARIANT, visitor_key

logger = logging.getLogger(__name__)

SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"
SUPPORTED_ENGINES = frozenset({SIGNED_COOKIES, "django.contrib.sessions.backends.cache"})
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def signed_in_read(request: HttpRequest) -> PageRead | None:
    """The shared copy's read for a signed-in GET or HEAD of a page with holes (`visitor` set when it
    can be served here), or None: Django answers. The visitor's record and the page are read in one
    round trip; a page not stored yet is read again under its lease, which Django builds under."""
    known = request_settings()
    if request.method not in ("GET", "HEAD") or not _fast_path_supported(known) or breaker.owes_catch_up:
        return None
    cookie = request.COOKIES.get(known.session_cookie)
    csrf_cookie = request.COOKIES.get(known.csrf_cookie)
    if not cookie or not cookie_is_wellformed(csrf_cookie):
        return None
    match = cached_view_at(request.path_info)
    page = cached_page_of(match.func) if match is not None else None
    if match is None or page is None or not page.holes:
        return None
    try:
        request.get_host()
    except DisallowedHost:
        return None
    login = session_login(cookie, known)
    key, variant = page.key(match.kwargs), page.variant(request, match.route, shared=True)
    if login is None or variant is None:
        return None
    pk, session_hash = login
    try:
        config = get_config()
        record, stored = get_store(config.cache_alias).peek_many([(visitor_key(pk), RECORD_VARIANT), (key, variant)])
    except StoreUnavailable:
        return None
    visitor = visitor_of_record(pk, session_hash, record, csrf_cookie)
    if visitor is None:
        return None
    if stored is not None:
        return PageRead(page, key, variant, ReadResult("hit", page=stored), True, shares_holes=True, visitor=visitor)
    read = PageRead.begin(page, key, variant, signed_in=True)  # a lease, or the page another build stored
    read.shares_holes = True
    if read.status == "hit":
        read.visitor = visitor
    return read


def fast_path_refusals(known: RequestSettings | None = None) -> list[str]:
    """Why these settings leave signed-in hits to Django's full stack (none: they are answered before it)."""
    known = known or request_settings()
    reasons = []
    if known.session_engine not in SUPPORTED_ENGINES:
        reasons.append(f"SESSION_ENGINE is {known.session_engine!r}, not one of {sorted(SUPPORTED_ENGINES)}")
    if known.session_save_every_request:
        reasons.append("SESSION_SAVE_EVERY_REQUEST is True (every request writes the session)")
    if known.csrf_use_sessions:
        reasons.append("CSRF_USE_SESSIONS is True (the CSRF secret is in the session, not in its cookie)")
    if MODEL_BACKEND not in known.authentication_backends:
        reasons.append(f"AUTHENTICATION_BACKENDS does not include {MODEL_BACKEND!r}")
    return reasons


@functools.lru_cache(maxsize=4)
def _fast_path_supported(known: RequestSettings) -> bool:
    return not fast_path_refusals(known)


def session_login(session_key: str, known: RequestSettings) -> tuple[str, str] | None:
    """The (pk, session hash) of the visitor the session signs in with ModelBackend, if it holds
    nothing else a page could show; else None."""
    if known.session_engine == SIGNED_COOKIES:
        login, expires_at = _signed_cookie_login(session_key, known.secret_key, known.session_cookie_age)
        return login if time.time() <= expires_at else None
    return _login_of(_loaded(session_key, known.session_engine))


@functools.lru_cache(maxsize=4096)
def _signed_cookie_login(cookie: str, secret_key: str, max_age: int) -> tuple[tuple[str, str] | None, float]:
    """A signed cookie's login and until when its signature is honoured: what it says never changes,
    so each process verifies a visitor's cookie once, not on every hit (the HMAC costs a hit more
    than the rest of its reading). Expired, it stays refused, as Django refuses it. (The settings
    that decide, the key and the age, are part of the cache's key.)"""
    login = _login_of(_loaded(cookie, SIGNED_COOKIES))
    if login is None:
        return None, 0.0
    signed_at = signing.b62_decode(cookie.rsplit(":", 2)[1])
    return login, signed_at + max_age


def _loaded(session_key: str, engine: str) -> dict[str, object] | None:
    try:
        data: dict[str, object] = import_module(engine).SessionStore(session_key).load()
    except Exception:  # the session's store is away: Django will meet it and answer as it answers that
        logger.debug("cache_sync: session not read before Django", exc_info=True)
        return None
    return data


def _login_of(data: dict[str, object] | None) -> tuple[str, str] | None:
    if data is None or not UNSHOWN_KEYS.issuperset(data.keys()) or data.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return None  # it holds data a page could show, or another backend signed it in
    if data.get(SESSION_KEY) is None:
        return None
    try:
        pk = str(get_user_model()._meta.pk.to_python(data.get(SESSION_KEY)))
    except ValidationError:
        return None
    return pk, str(data.get(HASH_SESSION_KEY) or "")


def visitor_of_record(pk: str, session_hash: str, raw: bytes | None, csrf_cookie: str | None) -> Visitor | None:
    """The visitor, if their stored record lets the session in as Django's `get_user` would; else None."""
    record = _parsed_record(raw) if raw is not None else None
    if record is None or not record["active"]:
        return None
    if not constant_time_compare(session_hash, record["hash"]):
        return None  # a password changed since (or a fallback key signed it): Django decides
    return Visitor(pk, dict(record["fragments"]), CsrfFill(None, csrf_cookie))


@functools.lru_cache(maxsize=1024)
def _parsed_record(raw: bytes) -> dict[str, Any]:
    """A record as stored (the same bytes always read the same): parsed once per process, not per hit."""
    record: dict[str, Any] = json.loads(raw)
    return record
