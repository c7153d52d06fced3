"""The purger: a thread of the relay that sends the queued purges to the edge, and keeps them while it fails.

It sleeps until a commit may have queued some (the relay's waiters: PostgreSQL's NOTIFY, which
queue_purges sends, or SQLite's data_version), purges what is queued in batches, and forgets what
the edge took. The edge down, or answering 5xx or 429 after the retries, or the database lost:
logged once, backed off, tried again; never an exit, never a purge dropped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from django.db import connections
from django.utils.module_loading import import_string

from ..conf import EdgeSettings, get_config
from ..delivery import waiters
from ..store import stats
from . import queue
from .backends import EdgeBackend
from .transport import EdgeUnavailable

logger = logging.getLogger(__name__)

READ_LIMIT = 1000  # keys read from the queue per round
BACKOFF_FIRST = 0.25  # seconds after a failed round
BACKOFF_MAX = 5.0


def load_backend(edge: EdgeSettings) -> EdgeBackend:
    """The configured backend, made once per settings (raises what its import or its options raise:
    checks E062/E063 say it first)."""
    global _loaded
    if _loaded[0] is not edge:
        _loaded = (edge, import_string(edge.backend)(**edge.options))
    return _loaded[1]


_loaded: tuple[EdgeSettings | None, EdgeBackend] = (None, EdgeBackend())


def edge_backend() -> EdgeBackend | None:
    edge = get_config().edge
    return load_backend(edge) if edge is not None and edge.backend else None


def purge_pending(using: str, backend: EdgeBackend) -> int:
    """Purge what is queued now; returns how many keys. Raises EdgeUnavailable (nothing forgotten)."""
    purged = 0
    while rows := queue.pending(using, READ_LIMIT):
        backend.purge([key for key, _stamp in rows])
        queue.forget(using, rows)
        stats.count("edge_purged_keys", len(rows))
        purged += len(rows)
        if len(rows) < READ_LIMIT:
            break
    return purged


def run(using: str, should_stop: Callable[[], bool]) -> None:
    """Purge, then wait for more; until `should_stop()`. Never raises."""
    waiter: Callable[[], None] | None = None
    backoff = BACKOFF_FIRST
    failing = False
    try:
        while not should_stop():
            try:
                backend = edge_backend()
                if waiter is None:
                    waiter = waiters.open_waiter(using)
                if backend is not None:
                    purge_pending(using, backend)
                if failing:
                    logger.warning("Edge purges delivered again on database %r", using)
                failing, backoff = False, BACKOFF_FIRST
                waiter()
                continue
            except EdgeUnavailable as error:
                stats.count("edge_error")
                if not failing:
                    logger.warning("Edge purges left queued, retrying: %s", error)
            except Exception:
                if not failing:
                    logger.exception("Edge purger failed on database %r, retrying", using)
                _close(waiter, using)
                waiter = None
            failing = True
            _sleep(backoff, should_stop)
            backoff = min(backoff * 2, BACKOFF_MAX)
    finally:
        _close(waiter, using)


@contextlib.contextmanager
def purging(using: str, should_stop: Callable[[], bool]) -> Iterator[None]:
    """The purger in a thread for as long as the block runs (the relay's), when an edge backend is set."""
    try:
        backend = edge_backend()
    except Exception:  # the relay never stops for it: its Redis delivery goes on, the purges wait queued
        logger.exception("CACHE_SYNC['EDGE'] names a backend that cannot be made (checks E062, E063): no purges")
        backend = None
    if backend is None:
        yield
        return
    stop = threading.Event()

    def body() -> None:
        try:
            run(using, lambda: stop.is_set() or should_stop())
        finally:
            connections.close_all()

    thread = threading.Thread(target=body, name=f"cache_sync edge purger {using}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def _close(waiter: object, using: str) -> None:
    close = getattr(waiter, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()
    with contextlib.suppress(Exception):
        connections[using].close()


def _sleep(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))
