"""Holes: the per-visitor parts of a page that every signed-in visitor shares (`@cached_page(..., holes=True)`).

    {% load cache_sync %}
    {% cache_sync_hole "nav" %}                    a fragment: cached per visitor
    {% cache_sync_hole "edit_profile" person.pk %}  a hole: filled per request, from the visitor
    {% cache_sync_hole "csrf_token" %}             built in: a fresh token per request

When a page is built for the copy signed-in visitors share, each hole is written as a marker
(signed with the SECRET_KEY: no text a visitor writes can be mistaken for one); when it is
served, `fill` replaces every marker with this visitor's part. A page built for anyone else
(an anonymous visitor, a view that is not cached) gets the part rendered in place, as if the
tag were an `{% include %}`.

A fragment (`register_fragment`) is a small template rendered with `user`; a visitor's
fragments are kept in one record under `CACHE_SYNC["VISITOR_KEY"]` (`visitor:{pk}`), stored
under a lease like a page, so the user model's rule that lists that key invalidates it: a
visitor renamed in the admin sees the new name on the next request, on every page.
A hole (`register_hole`) is a function of the visitor and the marker's arguments.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.html import format_html

from . import stats
from .breaker import StoreUnavailable
from .conf import get_config
from .csrf_holes import CsrfFill
from .storable import snapshot_taken
from .store import get_store

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

MARKING = "cache_sync_marks_holes"  # the request attribute: build holes as markers (the shared copy)
RECORD_VARIANT = "visitor"

HoleFill = Callable[..., str]
_fragments: dict[str, str] = {}  # name -> template name
_holes: dict[str, HoleFill] = {}


def register_fragment(name: str, template_name: str) -> None:
    """A per-visitor fragment: `template_name` rendered with `user`, cached in the visitor's record."""
    _fragments[name] = template_name


def register_hole(name: str, fill: HoleFill) -> None:
    """A per-request hole: `fill(visitor, *arguments)` gives its HTML (escaped by `fill`: it is inserted as is)."""
    _holes[name] = fill


@dataclass
class Visitor:
    """Who a shared page is filled for: their pk (None: anonymous), fragments, and this request's CSRF token."""

    pk: str | None
    fragments: dict[str, str]
    csrf: CsrfFill = field(default_factory=CsrfFill)


def _csrf_input(visitor: Visitor) -> str:
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', visitor.csrf.token())


register_hole("csrf_token", _csrf_input)


@cache
def _marker_prefix() -> bytes:
    nonce = salted_hmac("cache_sync.holes", "marker").hexdigest()[:16]
    return f"<!--cache_sync-hole:{nonce}:".encode()


_MARKER_END = b"-->"


def marker(name: str, arguments: tuple[object, ...]) -> str:
    """The marker of a hole in the shared copy (arguments quoted: a marker is one token per part)."""
    parts = [quote(name, safe=""), *(quote(str(argument), safe="") for argument in arguments)]
    return _marker_prefix().decode() + " ".join(parts) + _MARKER_END.decode()


def has_holes(body: bytes) -> bool:
    return _marker_prefix() in body


def render_in_place(name: str, user: Any, request: HttpRequest | None, arguments: tuple[object, ...]) -> str:
    """The part as a page built for one visitor shows it (not the shared copy)."""
    if name in _fragments:
        return render_to_string(_fragments[name], {"user": user, "request": request})
    if name == "csrf_token":
        from django.middleware.csrf import get_token

        # Django's own token: the page touched CSRF, and the store refuses it, as any such page.
        token = get_token(request) if request is not None else ""
        return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token) if token else ""
    hole = _holes.get(name)
    pk = str(user.pk) if getattr(user, "is_authenticated", False) else None
    return hole(Visitor(pk, {}), *(str(argument) for argument in arguments)) if hole is not None else ""


def fill(body: bytes, visitor: Visitor, *, in_fragment: bool = False) -> bytes:
    """The shared copy with every marker replaced by this visitor's part (an unknown one by nothing).
    A fragment's own holes (the nav's CSRF token) are filled too; a fragment in a fragment is not."""
    first, *rest = body.split(_marker_prefix())
    out = [first]
    for piece in rest:
        spec, _, after = piece.partition(_MARKER_END)
        name, *arguments = (unquote(part) for part in spec.decode().split(" "))
        if name in _fragments:
            if not in_fragment:
                out.append(fill(visitor.fragments.get(name, "").encode(), visitor, in_fragment=True))
        elif (hole := _holes.get(name)) is not None:
            out.append(hole(visitor, *arguments).encode())
        out.append(after)
    return b"".join(out)


def filled_response(response: HttpResponse, visitor: Visitor, request: HttpRequest) -> HttpResponse:
    """The shared copy filled for this visitor: its length, and the CSRF cookie as Django sets it when
    a page uses the token. A filled page is this visitor's own: it has no ETag of the shared copy."""
    response.content = fill(response.content, visitor)
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    if response.has_header("ETag"):
        del response["ETag"]
    if visitor.csrf.used:
        request.META["CSRF_COOKIE"] = visitor.csrf.secret
        response.set_cookie(
            settings.CSRF_COOKIE_NAME,
            visitor.csrf.secret,
            max_age=settings.CSRF_COOKIE_AGE,
            domain=settings.CSRF_COOKIE_DOMAIN,
            path=settings.CSRF_COOKIE_PATH,
            secure=settings.CSRF_COOKIE_SECURE,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite=settings.CSRF_COOKIE_SAMESITE,
        )
        patch_vary_headers(response, ("Cookie",))
    return response


# The visitor's record: their fragments, and what authentication checks (the session's hash, whether
# the backend lets them in), so that a signed-in hit needs no database (signed_in.py).


def visitor_key(pk: object) -> str:
    """The record's key: VISITOR_KEY with its one placeholder (the user model's pk field) as `pk`."""
    text = get_config().visitor_key
    start, end = text.index("{"), text.index("}")
    return f"{text[:start]}{pk}{text[end + 1 :]}"


def record_of(user: AbstractBaseUser) -> dict[str, Any]:
    return {
        "pk": str(user.pk),
        "hash": user.get_session_auth_hash(),
        "active": bool(getattr(user, "is_active", True)),
        # Rendered as parts of the shared copy: a hole inside a fragment stays a marker, filled per request.
        "fragments": {
            name: render_to_string(template, {"user": user, "request": _MARKING_REQUEST})
            for name, template in _fragments.items()
        },
    }


_MARKING_REQUEST = SimpleNamespace(**{MARKING: True})


def peek_record(pk: str) -> dict[str, Any] | None:
    """The visitor's stored record if one round trip finds it fresh, else None (no lease taken)."""
    try:
        raw = get_store(get_config().cache_alias).peek(visitor_key(pk), RECORD_VARIANT)
    except StoreUnavailable:
        return None
    record: dict[str, Any] | None = json.loads(raw) if raw is not None else None
    return record


def read_record(pk: str) -> dict[str, Any] | None:
    """The visitor's record: stored, else built from the database under the record's lease (and stored
    if no write invalidated it meanwhile). None if the user no longer exists."""
    config = get_config()
    store = get_store(config.cache_alias)
    key = visitor_key(pk)
    token = ""
    try:
        result = store.read(key, RECORD_VARIANT, guarded=config.guarded, lease_ms=int(config.lease_timeout * 1000))
        if result.status == "hit":
            found: dict[str, Any] = json.loads(result.page)
            return found
        token = result.token if result.status == "build" else ""
    except StoreUnavailable as error:
        logger.warning("Redis unavailable, visitor %s built from the database: %s", pk, error)
    # Read after the lease was taken: a write that commits later invalidates the lease, and this is not stored.
    older = snapshot_taken()
    user = get_user_model()._default_manager.filter(pk=pk).first()
    record = record_of(user) if user is not None else None
    if token and (record is None or older):
        _release(key, token)
    elif token and record is not None:
        try:
            stored = store.store(
                key, RECORD_VARIANT, json.dumps(record).encode(), token=token, ttl_ms=int(config.timeout * 1000)
            )
            if not stored:
                stats.count("stale_set_prevented")
        except StoreUnavailable:
            pass
    return record


def _release(key: str, token: str) -> None:
    with contextlib.suppress(StoreUnavailable):
        get_store(get_config().cache_alias).release(key, RECORD_VARIANT, token)


def visitor_of_request(request: HttpRequest) -> Visitor:
    """The signed-in visitor of a request Django has authenticated (the full stack's path)."""
    user = request.user
    pk = str(user.pk)
    record = read_record(pk)
    return Visitor(pk, dict(record["fragments"]) if record else {}, CsrfFill.of(request))
