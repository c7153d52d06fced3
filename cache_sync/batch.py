"""After commit, one deduplicated batch of invalidations per transaction.

Every change inside one `atomic()` adds its keys to the same batch, which is
sent once, in one Redis round trip, when the transaction commits; a rollback
drops the batch with Django's other on-commit callbacks. Outside a transaction
the batch is sent at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, transaction

from . import stats
from .conf import get_config
from .signals import keys_invalidated
from .store import StoreUnavailable, get_store

logger = logging.getLogger(__name__)

_current = threading.local()


class InvalidationBatch:
    def __init__(self, using: str) -> None:
        self.using = using
        self.keys: dict[str, None] = {}  # an ordered set
        self.rebuild_keys: dict[str, None] = {}
        self.sent = False

    def add(self, keys: Iterable[str], rebuild: bool = False) -> None:
        for key in keys:
            self.keys[key] = None
            if rebuild:
                self.rebuild_keys[key] = None

    def is_pending_on(self, connection) -> bool:
        # Django keeps (savepoint ids, callback, robust) per pending on-commit callback;
        # a rollback removes ours, and then a new batch must start.
        return any(func == self.send for _sids, func, _robust in connection.run_on_commit)

    def send(self) -> None:
        self.sent = True
        keys = list(self.keys)
        delivered = deliver_invalidations(keys)
        if delivered:
            keys_invalidated.send_robust(sender=InvalidationBatch, keys=tuple(keys), using=self.using)
        if self.rebuild_keys and delivered:
            from .pages import rebuild_page

            for key in self.rebuild_keys:
                rebuild_page(key)


def deliver_invalidations(keys: list[str]) -> bool:
    """Delete the families of `keys` now, in one round trip; False when Redis is away (kept for retry)."""
    try:
        sent = get_store(get_config().cache_alias).invalidate(keys)
    except StoreUnavailable as error:
        stats.count("redis_error")
        logger.error("Redis unavailable, invalidation of %d keys kept for retry: %s", len(keys), error)
        return False
    stats.count("invalidated_keys", sent)
    return True


def schedule_invalidation(keys: Iterable[str], *, using: str = DEFAULT_DB_ALIAS, rebuild: bool = False) -> None:
    """Invalidate `keys` when the current transaction on `using` commits (now if none)."""
    keys = list(keys)
    if not keys or not get_config().invalidates:
        return
    if not get_config().guarded:
        # The "naive" baseline: delete at once, before the transaction commits.
        deliver_invalidations(keys)
        return
    connection = transaction.get_connection(using)
    batch = getattr(_current, using, None)
    if batch is not None and not batch.sent and batch.is_pending_on(connection):
        batch.add(keys, rebuild)
        return
    batch = InvalidationBatch(using)
    batch.add(keys, rebuild)
    setattr(_current, using, batch)
    transaction.on_commit(batch.send, using=using, robust=True)
