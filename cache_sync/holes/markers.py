"""Markers of the holes in the copy signed-in visitors share, and their filling (see holes/__init__.py).

Built for the shared copy, each hole is a marker signed with the SECRET_KEY (no text a visitor
writes can be mistaken for one); `fill` replaces every marker with this visitor's part. Built for
anyone else, the template tag renders the part in place (`render_in_place`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote, unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac
from django.utils.html import format_html

from .csrf import CsrfFill

MARKING = "cache_sync_marks_holes"  # the request attribute: build holes as markers (the shared copy)

HoleFill = Callable[..., str]
_fragments: dict[str, str] = {}  # name -> template name
_holes: dict[str, HoleFill] = {}


def register_fragment(name: str, template_name: str) -> None:
    """A per-visitor fragment: `template_name` rendered with `user`, cached in the visitor's record."""
    _fragments[name] = template_name


def fragment_templates() -> dict[str, str]:
    """Every registered fragment's template, by name."""
    return dict(_fragments)


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
    # A token is letters and digits only (CSRF_ALLOWED_CHARS): nothing to escape.
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{visitor.csrf.token()}">'


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
        name, *arguments = _parsed_marker(spec)
        if name in _fragments:
            if not in_fragment:
                out.append(fill(visitor.fragments.get(name, "").encode(), visitor, in_fragment=True))
        elif (hole := _holes.get(name)) is not None:
            out.append(hole(visitor, *arguments).encode())
        out.append(after)
    return b"".join(out)


@lru_cache(maxsize=1024)
def _parsed_marker(spec: bytes) -> tuple[str, ...]:
    """A marker's name and arguments (the same few markers are in every page a visitor is served)."""
    return tuple(unquote(part) for part in spec.decode().split(" "))


def filled_response(response: HttpResponse, visitor: Visitor, request: HttpRequest) -> HttpResponse:
    """The shared copy filled for this visitor: its length, and the CSRF cookie as Django sets it when
    a page uses the token. A filled page is this visitor's own: it has no ETag of the shared copy."""
    response.content = fill(response.content, visitor)
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    mark_filled(response, csrf_used=visitor.csrf.used)
    if visitor.csrf.used:
        request.META["CSRF_COOKIE"] = visitor.csrf.secret
        set_csrf_cookie(response, visitor.csrf.secret)
    return response


def mark_filled(response: HttpResponseBase, *, csrf_used: bool) -> None:
    """What filling changes in a copy's headers, the same for every visitor it is filled for."""
    if response.has_header("ETag"):
        del response["ETag"]
    if csrf_used:
        patch_vary_headers(response, ("Cookie",))


def set_csrf_cookie(response: HttpResponseBase, secret: str, *, expires: str | None = None) -> None:
    """The CSRF cookie as CsrfViewMiddleware sets it (it renews it whenever a page used the token)."""
    response.set_cookie(
        settings.CSRF_COOKIE_NAME,
        secret,
        max_age=settings.CSRF_COOKIE_AGE,
        expires=expires,
        domain=settings.CSRF_COOKIE_DOMAIN,
        path=settings.CSRF_COOKIE_PATH,
        secure=settings.CSRF_COOKIE_SECURE,
        httponly=settings.CSRF_COOKIE_HTTPONLY,
        samesite=settings.CSRF_COOKIE_SAMESITE,
    )
