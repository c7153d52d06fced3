"""Counters of what the cache did: hits, misses, waits, stored pages, prevented stale sets...

Each process counts in memory and adds its counts to one Redis hash at most once
a second (one pipeline), so counting costs the hot path no round trip of its own.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from .breaker import StoreUnavailable
from .page_store import get_store

EVENTS = (
    "hit",
    "miss",
    "wait",
    "stored",
    "not_stored",
    "stale_set_prevented",
    "invalidated_keys",
    "rebuilt",
    "redis_error",
    "relay_error",
)
FLUSH_EVERY = 1.0  # seconds

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_last_flush = time.monotonic()


def count(event: str, n: int = 1) -> None:
    with _lock:
        _counts[event] += n
    if time.monotonic() - _last_flush >= FLUSH_EVERY:
        flush()


def flush(cache_alias: str | None = None) -> None:
    global _last_flush
    with _lock:
        pending = dict(_counts)
        _counts.clear()
        _last_flush = time.monotonic()
    if not pending:
        return
    try:
        get_store(cache_alias or _alias()).add_stats(pending)
    except StoreUnavailable:
        with _lock:
            _counts.update(pending)  # kept for the next flush


def totals(cache_alias: str | None = None) -> dict[str, int]:
    """Every process's counts so far (this one's flushed first)."""
    flush(cache_alias)
    stored = get_store(cache_alias or _alias()).read_stats()
    return {event: stored.get(event, 0) for event in EVENTS}


def _alias() -> str:
    from ..conf import get_config

    return get_config().cache_alias
