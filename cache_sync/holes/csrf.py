"""The CSRF token of a filled page: a fresh mask of the visitor's secret per request, as Django's `get_token`.

The secret is the one Django's CsrfViewMiddleware would use: `request.META["CSRF_COOKIE"]` when
the middleware has read the cookie (the full stack), else the cookie itself, read as the
middleware reads it (a masked token is unmasked; a malformed one is replaced by a new secret).
A page that used the token sets the cookie again (markers.filled_response), as Django renews it
whenever `get_token` is called. Django's unmasking and format check are private to its CSRF
module (unchanged since the masked form came in, Django 1.10) and are used here, so that a token
is read as the middleware reads it. Masks and new secrets are drawn here from one `os.urandom`
read each, and a mask is added to the secret by byte translations rather than a character at a
time (Django draws each character with a call of its own, which costs a signed-in hit more than
the rest of its filling); the token's form is Django's, which its middleware accepts.
"""

from __future__ import annotations

import functools
import operator
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
_SIZE = len(_CHARS)
# Characters as their indices in _CHARS, one byte each; one C call translates a whole string.
_BIASED = bytes(range(256 - 256 % _SIZE, 256))  # random bytes drawn again: every index equally likely
_RANDOM_TO_INDEX = bytes(byte % _SIZE for byte in range(256))
_CHAR_TO_INDEX = bytes(_CHARS.index(chr(byte)) if chr(byte) in _CHARS else 0 for byte in range(256))
_INDEX_TO_CHAR = bytes(ord(_CHARS[index % _SIZE]) for index in range(256))  # an index, or the sum of two


def _random_indices(length: int) -> bytes:
    indices = b""
    while len(indices) < length:
        indices += secrets.token_bytes(length + 8).translate(_RANDOM_TO_INDEX, _BIASED)
    return indices[:length]


def random_chars(length: int = CSRF_SECRET_LENGTH) -> str:
    """`length` characters of CSRF_ALLOWED_CHARS, uniformly, from the OS's randomness."""
    return _random_indices(length).translate(_INDEX_TO_CHAR).decode()


def mask(secret: str) -> str:
    """A token of `secret` as Django's `_mask_cipher_secret` makes one: a new mask, then the cipher
    (each character the sum of the secret's and the mask's, modulo the alphabet)."""
    pad = _random_indices(len(secret))
    sums = bytes(map(operator.add, secret.encode().translate(_CHAR_TO_INDEX), pad))
    return (pad + sums).translate(_INDEX_TO_CHAR).decode()


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


@functools.lru_cache(maxsize=1024)
def _secret_of_cookie(cookie: str | None) -> str | None:
    """The secret a CSRF cookie holds (read once per process for each cookie), or None if malformed."""
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
