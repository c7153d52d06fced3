"""The CSRF token of a filled page: a fresh mask of the visitor's secret per request, as Django's `get_token`.

The secret is the one Django's CsrfViewMiddleware would use: `request.META["CSRF_COOKIE"]` when
the middleware has read the cookie (the full stack), else the cookie itself, read as the
middleware reads it (a masked token is unmasked; a malformed one is replaced by a new secret).
A page that used the token sets the cookie again (markers.filled_response), as Django renews it
whenever `get_token` is called. Django's unmasking and format check are private to its CSRF
module (unchanged since the masked form came in, Django 1.10) and are used here, so that a token
is read as the middleware reads it. Masks and new secrets are drawn here from one `os.urandom`
read each (Django draws each character with a call of its own, which costs a signed-in hit more
than the rest of its filling); the token's form is Django's, which its middleware accepts.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import (  # type: ignore[attr-defined]
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    InvalidTokenFormat,
    _check_token_format,
    _unmask_cipher_token,
)

_CHARS: str = CSRF_ALLOWED_CHARS
_INDEX = {char: index for index, char in enumerate(_CHARS)}
_UNBIASED = 256 - 256 % len(_CHARS)  # bytes at or above it are drawn again: every character equally likely
# One C call maps random bytes to characters and drops the biased ones.
_TO_CHARS = bytes(ord(_CHARS[byte % len(_CHARS)]) for byte in range(256))
_BIASED = bytes(range(_UNBIASED, 256))


def random_chars(length: int = CSRF_SECRET_LENGTH) -> str:
    """`length` characters of CSRF_ALLOWED_CHARS, uniformly, from the OS's randomness."""
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(length + 8).translate(_TO_CHARS, _BIASED)
    return chars[:length].decode()


def mask(secret: str) -> str:
    """A token of `secret` as Django's `_mask_cipher_secret` makes one: a new mask, then the cipher."""
    pad = random_chars()
    size = len(_CHARS)
    return pad + "".join(_CHARS[(_INDEX[s] + _INDEX[m]) % size] for s, m in zip(secret, pad, strict=True))


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
            self._secret = self._known or _secret_of_cookie(self._cookie) or random_chars()
        return self._secret

    def token(self) -> str:
        """A token for a form: a new mask of the secret on every call (never another request's)."""
        self.used = True
        return mask(self.secret)


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
