"""Whether a finished response may be stored, by Django's own page-cache rules and the lease's.

Decided after every middleware has run (the front door stores last), so what
middleware adds counts: a cookie (CSRF, session, messages), `Vary`,
`Cache-Control`. The rules of `django.middleware.cache` and `django.utils.cache`:
never store a response that sets a cookie, that touched the CSRF token, that is
private or forbids storing, or whose `Vary` names a header the variant does not
key on.
"""

from __future__ import annotations

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils.cache import cc_delim_re

from ..delivery.delivery import has_pending_delivery

REFUSED_CACHE_CONTROL = {"private", "no-store", "no-cache"}


def refusal(request: HttpRequest, response: HttpResponse, keyed_headers: frozenset[str]) -> str | None:
    """Why `response` must not be stored, or None if it may be."""
    if response.status_code != 200 or response.streaming:
        return "status"
    if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        return "cookie"  # visitor-specific: a CSRF token, a session, a message
    control = {part.split("=", 1)[0].strip().lower() for part in cc_delim_re.split(response.get("Cache-Control", ""))}
    if control & REFUSED_CACHE_CONTROL:
        return "cache-control"
    vary = {header.strip().lower() for header in cc_delim_re.split(response.get("Vary", "")) if header.strip()}
    # Cookie: a visitor without a session cookie has an empty session, and a signed-in one has a
    # variant of their own; any other header must be one the variant keys on.
    if "*" in vary or vary - {"cookie"} - keyed_headers:
        return "vary"
    shown = getattr(request, "_messages", None)
    if shown is not None and shown.used and len(shown):
        return "messages"  # a one-time message ("Profile saved") is for this response only
    if writes_pending():
        return "transaction"  # the page may show rows that are not committed (and may never be)
    return None


def writes_pending() -> bool:
    """Whether a transaction open now has written to a watched table (rolled-back savepoints excluded)."""
    return any(
        connection.in_atomic_block and has_pending_delivery(connection)
        for connection in connections.all(initialized_only=True)
    )


def snapshot_taken() -> bool:
    """Whether a transaction open now already holds the one snapshot its later reads will see.

    Asked when the lease is taken: the lease vouches for reads that begin after it, and
    such a transaction's reads began before (e.g. a session loaded under ATOMIC_REQUESTS with
    PostgreSQL REPEATABLE READ or SQLite). A transaction that has not read yet, or that takes
    a snapshot per statement (READ COMMITTED), reads after the lease.
    """
    return any(_holds_snapshot(connection) for connection in connections.all(initialized_only=True))


def _holds_snapshot(connection: BaseDatabaseWrapper) -> bool:
    if not connection.in_atomic_block or connection.connection is None:
        return False
    if connection.vendor == "postgresql":
        # psycopg begins the transaction with its first statement, which takes the snapshot.
        return not _snapshot_per_statement(connection) and int(connection.connection.info.transaction_status) != 0
    if connection.vendor == "sqlite":
        # A deferred BEGIN reads at its first SELECT, an IMMEDIATE one at once; which one ran is not known.
        # sqlite3.Connection.in_transaction, a bool: Django types the driver's connection Any.
        return connection.connection.in_transaction  # type: ignore[no-any-return]
    return True


def _snapshot_per_statement(connection: BaseDatabaseWrapper) -> bool:
    # django-stubs has no stub for this module (psycopg's or psycopg2's IsolationLevel, whichever is installed).
    from django.db.backends.postgresql.psycopg_any import IsolationLevel  # type: ignore[import-untyped]

    # PostgreSQL's DatabaseWrapper sets isolation_level when it connects; django-stubs does not declare it.
    level = connection.isolation_level  # type: ignore[attr-defined]
    # READ UNCOMMITTED behaves as READ COMMITTED in PostgreSQL.
    return level in (None, IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED)
