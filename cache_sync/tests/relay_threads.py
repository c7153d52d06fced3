"""A relay running for real in a thread of the test process, stopped by an event; and waiting for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connections

from cache_sync.delivery import relay


class RunningRelay:
    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"test relay {alias}")

    def _run(self) -> None:
        try:
            relay.run(self.alias, should_stop=self.stop.is_set)
        finally:
            connections.close_all()

    def __enter__(self) -> RunningRelay:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the relay did not stop"


def eventually(condition: Callable[[], object], what: str, within: float = 15.0) -> None:
    """Wait (bounded) until `condition()` holds: the relay works on its own schedule."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)
