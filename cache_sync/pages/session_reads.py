"""Whether a page shows what the visitor's session holds (a basket, a "recently viewed" list).

Noted while the view runs: the keys it reads from the session, other than a login's. A page
that read none is the same for every visitor with the same variant, and is shared as before.
One that read some is stored only when built for an empty session (what every visitor
without session data sees), marked as such; a visitor whose session holds data is served
such a page built for them, and it is not stored (page_read.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

# What a login keeps in the session (django.contrib.auth), its expiry, and the messages' session
# storage (a page that shows a message is never stored: storable.py): no page shows them.
UNSHOWN_KEYS = frozenset({"_auth_user_id", "_auth_user_backend", "_auth_user_hash", "_session_expiry", "_messages"})
_EVERY_KEY = "\0every key"
# Where SessionBase keeps the loaded data, which every read goes through (not in its public API,
# unchanged since Django 1.4): the one private name cache_sync relies on here.
_DATA = "_session_cache"


class _NotingReads(dict[str, Any]):
    """The session's data, noting the keys read (SessionBase reads and writes it through these)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.reads: set[str] = set()
        self.noting = True

    def _note(self, key: str) -> None:
        if self.noting:
            self.reads.add(key)

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._note(str(key))
        return super().__contains__(key)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        self._note(key)
        return super().pop(key, *default)

    def keys(self):  # type: ignore[no-untyped-def]  # a dict's own view type
        self._note(_EVERY_KEY)
        return super().keys()

    def values(self):  # type: ignore[no-untyped-def]
        self._note(_EVERY_KEY)
        return super().values()

    def items(self):  # type: ignore[no-untyped-def]
        self._note(_EVERY_KEY)
        return super().items()

    def __iter__(self) -> Iterator[str]:
        self._note(_EVERY_KEY)
        return super().__iter__()


def holds_data(request: HttpRequest) -> bool:
    """Whether the visitor's session holds anything a page could show (loads it, leaving `accessed` as it was)."""
    session = getattr(request, "session", None)
    if not isinstance(session, SessionBase):  # none, or a plain mapping (a test's RequestFactory request)
        return isinstance(session, Mapping) and not UNSHOWN_KEYS.issuperset(session.keys())
    accessed = session.accessed
    try:
        return not UNSHOWN_KEYS.issuperset(session.keys())
    finally:
        session.accessed = accessed  # else SessionMiddleware would add `Vary: Cookie` to every page


@contextlib.contextmanager
def noting_session_reads(request: HttpRequest) -> Iterator[Callable[[], bool]]:
    """While the block runs (the view), note the session keys read; yields "did it read any but a login's?"."""
    session = getattr(request, "session", None)
    if not isinstance(session, SessionBase):
        yield lambda: False
        return
    holds_data(request)  # loads the data
    noted = _NotingReads(getattr(session, _DATA))
    setattr(session, _DATA, noted)
    try:
        yield lambda: bool(noted.reads - UNSHOWN_KEYS)
    finally:
        noted.noting = False
        if getattr(session, _DATA, None) is noted:  # unless the view replaced it (flush, a new login)
            setattr(session, _DATA, dict(noted))
