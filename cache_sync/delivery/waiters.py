"""How the relay sleeps until there is work: PostgreSQL's LISTEN, or SQLite's data_version.

A waiter raises whatever its connection raises (psycopg's own errors for the
LISTEN connection); the relay closes it and opens a new one (relay._Relay._lost).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connections

from ..capture.triggers import NOTIFY_CHANNEL

IDLE_POLL = 1.0  # seconds between outbox reads when no notification came (a safety net)
SQLITE_WATCH = 0.005  # seconds between data_version reads on SQLite


def open_waiter(using: str) -> Callable[[], None]:
    if connections[using].vendor == "postgresql":
        return _PostgresNotifications(using)
    return _SqliteDataVersion(using)


class _PostgresNotifications:
    """Blocks until the triggers' NOTIFY arrives (or IDLE_POLL passes), on a connection of its own."""

    def __init__(self, using: str) -> None:
        import psycopg

        params = connections[using].get_connection_params()
        params.setdefault("connect_timeout", 5)
        self.listener = psycopg.connect(**params, autocommit=True)
        self.listener.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def __call__(self) -> None:
        for _notification in self.listener.notifies(timeout=IDLE_POLL, stop_after=1):
            pass

    def close(self) -> None:
        self.listener.close()


class _SqliteDataVersion:
    """Returns as soon as another connection committed a write (PRAGMA data_version changed)."""

    def __init__(self, using: str) -> None:
        self.using = using

    def _read(self) -> int:
        with connections[self.using].cursor() as cursor:
            cursor.execute("PRAGMA data_version")
            version: int = cursor.fetchone()[0]
            return version

    def __call__(self) -> None:
        deadline = time.monotonic() + IDLE_POLL
        start = self._read()
        while time.monotonic() < deadline:
            time.sleep(SQLITE_WATCH)
            if self._read() != start:
                return
