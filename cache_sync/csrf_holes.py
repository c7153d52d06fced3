"""The CSRF token of a filled page: a fresh mask of the visitor's secret per request, as Django's `get_token`.

The secret is the one Django's CsrfViewMiddleware would use: `request.META["CSRF_COOKIE"]` when
the middleware has read the cookie (the full stack), else the cookie itself, read as the
middleware reads it (a masked token is unmasked; a malformed one is replaced by a new secret).
A page that used the token sets the cookie again (holes.filled_response), as Django renews it
whenever `get_token` is called. Django's masking functions are private to its CSRF module; they
have not changed since the masked form was introduced (Django 1.10), and are used here so that
Django's own middleware accepts every token this writes.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import (  # type: ignore[attr-defined]
    CSRF_SECRET_LENGTH,
    InvalidTokenFormat,
    _check_token_format,
    _get_new_csrf_string,
    _mask_cipher_secret,
    _unmask_cipher_token,
)


class CsrfFill:
    """This request's CSRF secret (found when first asked) and whether the page used a token."""

    def __init__(self, known: str | None = None, cookie: str | None = None) -> None:
        self._known = known
        self._cookie = cookie
        self._secret: str | None = None
        self.used = False

    @classmethod
    def of(cls, request: HttpRequest) -> CsrfFill:
        return cls(request.META.get("CSRF_COOKIE"), request.COOKIES.get(settings.CSRF_COOKIE_NAME))

    @property
    def secret(self) -> str:
        if self._secret is None:
            self._secret = self._known or _secret_of_cookie(self._cookie) or _get_new_csrf_string()
        return self._secret

    def token(self) -> str:
        """A token for a form: a new mask of the secret on every call (never another request's)."""
        self.used = True
        return str(_mask_cipher_secret(self.secret))


def _secret_of_cookie(cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        _check_token_format(cookie)
    except InvalidTokenFormat:
        return None
    return str(_unmask_cipher_token(cookie)) if len(cookie) != CSRF_SECRET_LENGTH else cookie


def cookie_is_wellformed(cookie: str | None) -> bool:
    """Whether CsrfViewMiddleware would keep this cookie (absent, or a secret or token); a malformed one it replaces."""
    return cookie is None or _secret_of_cookie(cookie) is not None
