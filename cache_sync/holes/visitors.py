"""A signed-in visitor's record: their fragments, and what authentication checks (holes/signed_in.py).

Kept under `CACHE_SYNC["VISITOR_KEY"]` (`visitor:{id}`) and stored under a lease as a page is,
so the user model's rule that lists the key invalidates it, and a record built from a row read
before a write commits is never stored after it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.template.loader import render_to_string

from ..conf import get_config
from ..pages.storable import snapshot_taken
from ..store import stats
from ..store.breaker import StoreUnavailable
from ..store.page_store import get_store
from .csrf import CsrfFill
from .markers import MARKING, Visitor, fragment_templates

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

RECORD_VARIANT = "visitor"


def visitor_key(pk: object) -> str:
    """The record's key: VISITOR_KEY with its one placeholder (the user model's pk field) as `pk`."""
    text = get_config().visitor_key
    start, end = text.index("{"), text.index("}")
    return f"{text[:start]}{pk}{text[end + 1 :]}"


def visitor_pk_of(key: str) -> str | None:
    """The pk in a visitor's record key (`visitor:42` -> "42"), None for any other key."""
    text = get_config().visitor_key
    start, end = text.index("{"), text.index("}")
    prefix, suffix = text[:start], text[end + 1 :]
    if len(key) <= len(prefix) + len(suffix) or not key.startswith(prefix) or not key.endswith(suffix):
        return None
    return key[len(prefix) : len(key) - len(suffix)]


def record_is_true(pk: str, stored: bytes) -> bool:
    """Whether a stored record is the one the database's row makes now (`cache_sync verify`)."""
    user = get_user_model()._default_manager.filter(pk=pk).first()
    return user is not None and json.loads(stored) == record_of(user)


def record_of(user: AbstractBaseUser) -> dict[str, Any]:
    return {
        "pk": str(user.pk),
        "hash": user.get_session_auth_hash(),
        "active": bool(getattr(user, "is_active", True)),
        # Rendered as parts of the shared copy: a hole inside a fragment stays a marker, filled per request.
        "fragments": {
            name: render_to_string(template, {"user": user, "request": _MARKING_REQUEST})
            for name, template in fragment_templates().items()
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
