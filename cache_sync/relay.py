"""The relay: delivers every committed change that its writer did not (`manage.py cache_sync relay`).

A writer that was killed after its commit, that could not reach Redis, whose
on-commit chain broke, or whose write bypassed Django's connection leaves its
outbox entries behind; the relay delivers them. It sleeps until there is work:
on PostgreSQL it LISTENs to the triggers' NOTIFY, on SQLite it watches
`PRAGMA data_version` (a read of a counter in shared memory) every few
milliseconds. Several relays may run at once: on PostgreSQL each claims entries
with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, connections

from . import outbox, stats
from .breaker import StoreUnavailable
from .conf import get_config
from .delivery import deliver_pending
from .triggers import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)

IDLE_POLL = 1.0  # seconds between outbox reads when no notification came (a safety net)
SQLITE_WATCH = 0.005  # seconds between data_version reads on SQLite
RETRY_MAX = 0.25  # longest back-off while Redis is away: it delivers soon after Redis returns
CLOCK_MARGIN = 60.0  # seconds of disagreement allowed between the database's and Redis's clocks


def deliver_all(using: str) -> int:
    """Deliver everything pending now; returns how many changes. Raises StoreUnavailable."""
    delivered = 0
    while n := deliver_pending(using):
        delivered += n
    return delivered


def prune_expired(using: str) -> int:
    """While Redis is away, drop entries that no cached page can predate any more, so the outbox stays bounded.

    A page is stored at most LEASE_TIMEOUT after its database read began (the store
    script refuses an expired lease) and lives at most TIMEOUT: an entry older than
    both (plus a margin for the clocks of the database and Redis) can only
    invalidate pages that have expired already.
    """
    config = get_config()
    discarded = outbox.discard_older_than(using, config.timeout + config.lease_timeout + CLOCK_MARGIN)
    if discarded:
        logger.warning("Discarded %d outbox entries older than every page they could invalidate", discarded)
    return discarded


def run(using: str, *, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Deliver, then wait for more; until `should_stop()`. Redis or database errors back off and retry."""
    wait = _waiter(using)
    backoff = 0.05
    while not should_stop():
        try:
            deliver_all(using)
            backoff = 0.05
        except (StoreUnavailable, DatabaseError) as error:
            stats.count("redis_error" if isinstance(error, StoreUnavailable) else "relay_error")
            logger.warning("Relay could not deliver, retrying in %.2fs: %s", backoff, error)
            if isinstance(error, StoreUnavailable):
                prune_expired(using)
            time.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX)
            connections[using].close_if_unusable_or_obsolete()
            continue
        wait()


def _waiter(using: str) -> Callable[[], None]:
    if connections[using].vendor == "postgresql":
        return _PostgresNotifications(using)
    return _SqliteDataVersion(using)


class _PostgresNotifications:
    """Blocks until the triggers' NOTIFY arrives (or IDLE_POLL passes), on a connection of its own."""

    def __init__(self, using: str) -> None:
        import psycopg

        params = connections[using].get_connection_params()
        self.listener = psycopg.connect(**params, autocommit=True)
        self.listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def __call__(self) -> None:
        for _notification in self.listener.notifies(timeout=IDLE_POLL, stop_after=1):
            pass


class _SqliteDataVersion:
    """Returns as soon as another connection committed a write (PRAGMA data_version changed)."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.version = None

    def _read(self) -> int:
        with connections[self.using].cursor() as cursor:
            cursor.execute("PRAGMA data_version")
            return cursor.fetchone()[0]

    def __call__(self) -> None:
        deadline = time.monotonic() + IDLE_POLL
        start = self._read()
        while time.monotonic() < deadline:
            time.sleep(SQLITE_WATCH)
            if self._read() != start:
                return
