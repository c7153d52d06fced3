"""The relay: delivers every committed change that its writer did not (`manage.py cache_sync relay`).

A writer that was killed after its commit, that could not reach Redis, whose
on-commit chain broke, or whose write bypassed Django's connection leaves its
outbox entries behind; the relay delivers them. It sleeps until there is work:
on PostgreSQL it LISTENs to the triggers' NOTIFY, on SQLite it watches
`PRAGMA data_version` (a read of a counter in shared memory) every few
milliseconds. Several relays may run at once: on PostgreSQL each claims entries
with `FOR UPDATE SKIP LOCKED`.

It never exits on an error: a relay that stops silently leaves every change
that is its to deliver stale until the TTL. Whatever fails (the LISTEN
connection, Django's connection, Redis, anything else) is logged, backed off
and retried; a lost connection is reopened, and what is pending is delivered at
once (notifications sent while it was away are lost).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils import timezone

from ..capture import outbox
from ..conf import Config, get_config
from ..edge.purger import purging
from ..store import stats
from ..store.breaker import StoreUnavailable
from . import acks, heartbeat, waiters
from .delivery import CLAIM_LIMIT, deliver_pending, renderable_models

logger = logging.getLogger(__name__)

RETRY_MAX = 0.25  # longest back-off while Redis is away: it delivers soon after Redis returns
RECONNECT_FIRST = 0.05  # seconds before the first reconnection to a lost database
RECONNECT_MAX = 2.0  # longest back-off between reconnections
HOUSEKEEPING_EVERY = heartbeat.BEAT_EVERY  # seconds between heartbeats (and prunings, and the outbox's VACUUM)
SET_ASIDE_FOR = 300.0  # seconds before the models whose entries failed to render are tried again
CLOCK_MARGIN = 60.0  # seconds of disagreement allowed between the database's and Redis's clocks


def deliver_all(using: str, labels: Collection[str] | None = None) -> int:
    """Deliver everything pending now (of the models `labels`, default: all this process renders);
    returns how many changes. Raises StoreUnavailable."""
    delivered, _caught_up = deliver_for(using, labels)
    return delivered


def deliver_for(using: str, labels: Collection[str] | None = None, seconds: float = float("inf")) -> tuple[int, bool]:
    """Deliver claims until one is not full, so that everything pending then is delivered (caught
    up), or until `seconds` have passed with a backlog left; returns (how many, caught up). Under
    steady writes there is always a new entry: a loop until an empty claim would never end, and
    the relay's heartbeat and the outbox's VACUUM would wait for a pause in the writes."""
    delivered = 0
    deadline = time.monotonic() + seconds
    while True:
        claimed = deliver_pending(using, labels=labels)
        delivered += claimed
        if claimed < CLAIM_LIMIT:
            return delivered, True
        if time.monotonic() >= deadline:
            return delivered, False


def prune_expired(using: str) -> int:
    """Drop entries that no cached page can predate any more, so the outbox stays bounded.

    A page is stored at most LEASE_TIMEOUT after its database read began (the store
    script refuses an expired lease) and lives at most TIMEOUT: an entry committed
    longer ago than both (plus a margin for the clocks of the database and Redis)
    can only invalidate pages that have expired already. Measured from when a relay
    first saw the entry, never from its statement's time: a long transaction's
    entry is written long before its commit, and is visible only after it. This
    also bounds entries that no process can render (a rule removed for good).
    """
    config = get_config()
    outbox.mark_seen(using)
    discarded = outbox.discard_seen_before(using, config.timeout + config.lease_timeout + CLOCK_MARGIN)
    if discarded:
        logger.warning("Discarded %d outbox entries older than every page they could invalidate", discarded)
    return discarded


def run(using: str, *, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Deliver, then wait for more; until `should_stop()`. Never returns otherwise, never raises."""
    relay = _Relay(using, should_stop)
    try:
        with purging(using, should_stop):  # the edge's purges, in a thread: a slow edge never delays Redis
            while not should_stop():
                relay.round()
    finally:
        relay.close_listener()


def run_every(aliases: Iterable[str], *, should_stop: Callable[[], bool] = lambda: False) -> None:
    """One relay per database alias, each in a thread of its own (each with its own connections)."""

    def relay_alias(alias: str) -> None:
        try:
            run(alias, should_stop=should_stop)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=relay_alias, args=(alias,), name=f"cache_sync relay {alias}") for alias in aliases
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


class _Relay:
    """One database's relay loop: its listener, its back-off, its heartbeat."""

    def __init__(self, using: str, should_stop: Callable[[], bool]) -> None:
        self.using = using
        self.should_stop = should_stop
        self.name = heartbeat.relay_name()
        self.listener: Callable[[], None] | None = None
        self.backoff = RECONNECT_FIRST
        self.lost_at: float | None = None  # when the database was lost (monotonic), until a round succeeds
        self.redis_away_at: float | None = None  # likewise Redis
        self.next_housekeeping = 0.0
        self.caught_up_at: datetime | None = None
        self.behind = False  # the last round left a backlog
        self.error = ""
        self.config: Config | None = None
        self.set_aside: set[str] = set()  # models whose rule failed to render their entries, this config
        self.set_aside_until = 0.0

    def labels(self) -> frozenset[str]:
        """The models this relay delivers: those its rules render, but those set aside."""
        config = get_config()
        if config is not self.config or time.monotonic() >= self.set_aside_until:
            self.config, self.set_aside = config, set()  # a new config, or time to try them again
        return renderable_models(config) - self.set_aside

    def round(self) -> None:
        try:
            if self.listener is None:
                self.listener = waiters.open_waiter(self.using)
            delivered, caught_up = deliver_for(self.using, self.labels(), HOUSEKEEPING_EVERY)
            if caught_up:
                self.caught_up_at = timezone.now()
            self.error = ""
            self.behind = not caught_up
            self._recovered(delivered)
            self._housekeep()
        except StoreUnavailable as error:
            self._redis_unavailable(error)
            return
        except Exception as error:  # the database, the listener's connect, or anything else
            if not self._set_aside_failing_models(error):
                self._lost(error)
            return
        if self.behind:
            return  # a backlog left: the next round goes on with it at once, no notification awaited
        try:
            self.listener()
        except Exception as error:
            self._lost(error)

    def _set_aside_failing_models(self, error: Exception) -> bool:
        """Deliver each model's entries alone: if some models fail while others do not, their rules cannot
        render their entries (another release's schema, a bug), so they are left in the outbox for a
        process that can, instead of blocking every other model's. If all fail, the database is at fault."""
        if self.listener is None or _lost_connection(self.using, error):
            return False
        labels = self.labels()
        failing = []
        try:
            for label in sorted(labels):
                try:
                    deliver_all(self.using, {label})
                except StoreUnavailable:
                    raise
                except Exception:
                    failing.append(label)
        except StoreUnavailable as redis_error:
            self._redis_unavailable(redis_error)
            return True
        if not failing or len(failing) == len(labels):
            return False
        if not self.set_aside:
            self.set_aside_until = time.monotonic() + SET_ASIDE_FOR
        self.set_aside.update(failing)
        logger.error(
            "Relay leaves the entries of %s on database %r in the outbox: delivering them failed, and "
            "a process whose rules render them will deliver them (or they expire)",
            ", ".join(failing),
            self.using,
            exc_info=error,
        )
        return True

    def _recovered(self, delivered: int) -> None:
        if self.lost_at is not None:
            logger.warning(
                "Relay reconnected to database %r after %.1fs; delivered %d pending change(s)",
                self.using,
                time.monotonic() - self.lost_at,
                delivered,
            )
        if self.redis_away_at is not None:
            away = time.monotonic() - self.redis_away_at
            logger.warning("Relay reached Redis again after %.1fs; delivered %d pending change(s)", away, delivered)
        self.lost_at = self.redis_away_at = None
        self.backoff = RECONNECT_FIRST

    def _redis_unavailable(self, error: StoreUnavailable) -> None:
        stats.count("redis_error")
        self.error = f"Redis unavailable: {error}"
        if self.redis_away_at is None:  # once per outage, not every retry
            self.redis_away_at = time.monotonic()
            logger.warning("Relay cannot reach Redis, retrying every %.2fs: %s", RETRY_MAX, error)
        try:
            self._housekeep()
        except Exception as db_error:
            self._lost(db_error)
            return
        self._sleep(RETRY_MAX)

    def _lost(self, error: Exception) -> None:
        stats.count("relay_error")
        self.error = f"{type(error).__name__}: {error}"
        if isinstance(error, DatabaseError | InterfaceError) or _is_driver_error(error):
            logger.warning(
                "Relay lost its connection to database %r, reconnecting in %.2fs: %s", self.using, self.backoff, error
            )
        else:
            logger.exception("Relay failed unexpectedly on database %r, retrying in %.2fs", self.using, self.backoff)
        if self.lost_at is None:
            self.lost_at = time.monotonic()
        self.close_listener()
        with contextlib.suppress(Exception):
            connections[self.using].close()
        self._sleep(self.backoff)
        self.backoff = min(self.backoff * 2, RECONNECT_MAX)

    def _housekeep(self) -> None:
        if time.monotonic() < self.next_housekeeping:
            return
        prune_expired(self.using)
        with contextlib.suppress(StoreUnavailable):  # Redis away: the next housekeeping
            acks.forget_old(self.using)
        outbox.vacuum(self.using)
        heartbeat.write_heartbeat(self.using, self.name, self.caught_up_at, self.error, self.labels())
        self.next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.should_stop() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))

    def close_listener(self) -> None:
        close = getattr(self.listener, "close", None)
        self.listener = None
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def _lost_connection(using: str, error: Exception) -> bool:
    """An error of PostgreSQL's connection (not of a statement): no use trying each model on it."""
    return connections[using].vendor == "postgresql" and isinstance(error, OperationalError | InterfaceError)


def _is_driver_error(error: Exception) -> bool:
    """psycopg's own errors (the LISTEN connection is psycopg's, not Django's: not a DatabaseError)."""
    return type(error).__module__.split(".")[0] in ("psycopg", "psycopg2", "sqlite3") or isinstance(error, OSError)
