"""The pending purges: the table `cache_sync_edge_purge`, one row per surrogate key.

`queue_purges` runs in the transaction that removes the delivered outbox entries (delivery.py),
so a delivery that committed its removal has committed its purges too: a process killed after
that, or an edge that is down, leaves them here for the purger. A key queued again gets a new
stamp, and `forget` deletes a row only with the stamp that was sent: a write that commits while
its key's purge is in flight keeps a row, and is purged once more.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from django.db import connections, transaction
from django.utils import timezone

from ..capture.trigger_sql import NOTIFY_CHANNEL
from .surrogate import surrogate_key

TABLE = "cache_sync_edge_purge"
ROWS_PER_STATEMENT = 400  # two parameters a row: far under SQLite's and PostgreSQL's limits


@contextlib.contextmanager
def purges_queued_with(using: str, keys: list[str]) -> Iterator[None]:
    """The block (the removal of delivered outbox entries) and the queueing of `keys`, in one transaction;
    without keys, the block alone (no transaction of its own: a write without an edge pays nothing)."""
    if not keys:
        yield
        return
    with transaction.atomic(using=using):
        yield
        queue_purges(using, keys)


def queue_purges(using: str, keys: Iterable[str]) -> int:
    """Queue the surrogate keys of `keys` (Redis keys) in the current transaction; returns how many."""
    # Sorted: two writers queueing the same keys lock their rows in one order (no deadlock on PostgreSQL).
    wanted = sorted({surrogate_key(key) for key in keys})
    if not wanted:
        return 0
    stamp = secrets.randbits(62)
    with connections[using].cursor() as cursor:
        for start in range(0, len(wanted), ROWS_PER_STATEMENT):
            chunk = wanted[start : start + ROWS_PER_STATEMENT]
            rows = ", ".join(["(%s, %s, CURRENT_TIMESTAMP)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {TABLE} (key, stamp, queued_at) VALUES {rows}"
                " ON CONFLICT (key) DO UPDATE SET stamp = excluded.stamp",
                [value for key in chunk for value in (key, stamp)],
            )
        if connections[using].vendor == "postgresql":
            cursor.execute("SELECT pg_notify(%s, 'edge')", [NOTIFY_CHANNEL])  # wakes the purger at the commit
    return len(wanted)


def pending(using: str, limit: int) -> list[tuple[str, int]]:
    """The oldest queued (key, stamp) pairs."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT key, stamp FROM {TABLE} ORDER BY queued_at, key LIMIT %s", [limit])
        return [(key, stamp) for key, stamp in cursor.fetchall()]


def forget(using: str, purged: list[tuple[str, int]]) -> None:
    """Delete the rows the edge purged, unless queued again since (another stamp)."""
    with connections[using].cursor() as cursor:
        for start in range(0, len(purged), ROWS_PER_STATEMENT):
            chunk = purged[start : start + ROWS_PER_STATEMENT]
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE {' OR '.join(['(key = %s AND stamp = %s)'] * len(chunk))}",
                [value for pair in chunk for value in pair],
            )


def backlog(using: str) -> tuple[int, datetime | None]:
    """How many keys wait, and since when the oldest (for /metrics)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MIN(queued_at) FROM {TABLE}")
        waiting, oldest = cursor.fetchone()
    if isinstance(oldest, str):  # SQLite returns an aggregate's datetime as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and timezone.is_naive(oldest):
        oldest = timezone.make_aware(oldest, UTC)
    return int(waiting), oldest
