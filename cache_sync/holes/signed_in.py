"""A signed-in visitor's read of a page with holes, made before Django: `signed_in_read`.

Django authenticates a visitor from the session (a load), then the user's row (a query) and
the session's hash of their password. Here the session is loaded by its own engine, and the
user's row is replaced by the visitor's record (visitors.py: the hash, whether the backend lets
them in, their fragments), kept true by the user model's rule. So a hit costs the session's
read (none for signed cookies, one GET for the cache engine), the record's and the page's.

Supported: the `signed_cookies` and `cache` session engines, Django's ModelBackend, CSRF in a
cookie. Anything else (another engine or backend, a session that holds data besides the login,
a malformed CSRF cookie, a record or page not stored yet, a hash that does not match) is
answered by Django's full stack, which fills the same shared copy there (the normal path).
"""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.exceptions import DisallowedHost, ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from ..pages.decorator import cached_page_of, cached_view_at
from ..pages.page_read import PageRead
from ..pages.session_reads import UNSHOWN_KEYS
from .csrf import CsrfFill, cookie_is_wellformed
from .markers import Visitor
from .visitors import peek_record

logger = logging.getLogger(__name__)

SUPPORTED_ENGINES = frozenset(
    {"django.contrib.sessions.backends.signed_cookies", "django.contrib.sessions.backends.cache"}
)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def signed_in_read(request: HttpRequest) -> PageRead | None:
    """The shared copy's read for a signed-in GET or HEAD of a page with holes (`visitor` set when it
    can be served here), or None: Django answers."""
    if request.method not in ("GET", "HEAD") or not supports_fast_path():
        return None
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie or not cookie_is_wellformed(request.COOKIES.get(settings.CSRF_COOKIE_NAME)):
        return None
    match = cached_view_at(request.path_info)
    page = cached_page_of(match.func) if match is not None else None
    if match is None or page is None or not page.holes:
        return None
    try:
        request.get_host()
    except DisallowedHost:
        return None
    visitor = session_visitor(request, cookie)
    if visitor is None:
        return None
    read = PageRead.begin(page, page.key(match.kwargs), page.variant(request, match.route, shared=True), signed_in=True)
    read.shares_holes = True
    if read.status == "hit":
        read.visitor = visitor
    return read


def supports_fast_path() -> bool:
    return (
        settings.SESSION_ENGINE in SUPPORTED_ENGINES
        and not settings.SESSION_SAVE_EVERY_REQUEST
        and not settings.CSRF_USE_SESSIONS
        and MODEL_BACKEND in settings.AUTHENTICATION_BACKENDS
    )


def session_visitor(request: HttpRequest, session_key: str) -> Visitor | None:
    """The visitor the session signs in, as Django's `get_user` would accept them; None for anyone else."""
    try:
        data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()
    except Exception:  # the session's store is away: Django will meet it and answer as it answers that
        logger.debug("cache_sync: session not read before Django", exc_info=True)
        return None
    if not UNSHOWN_KEYS.issuperset(data.keys()) or data.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return None  # it holds data a page could show, or another backend signed it in
    if data.get(SESSION_KEY) is None:
        return None
    try:
        pk = str(get_user_model()._meta.pk.to_python(data.get(SESSION_KEY)))
    except ValidationError:
        return None
    record = peek_record(pk)
    if record is None or not record["active"]:
        return None
    if not constant_time_compare(str(data.get(HASH_SESSION_KEY) or ""), record["hash"]):
        return None  # a password changed since (or a fallback key signed it): Django decides
    return Visitor(pk, dict(record["fragments"]), CsrfFill(None, request.COOKIES.get(settings.CSRF_COOKIE_NAME)))
