"""Redis errors as one exception of ours, and the circuit breaker that follows an error."""

from __future__ import annotations

import time
from types import TracebackType

import redis
from redis.exceptions import RedisClusterException


class StoreUnavailable(Exception):
    """Redis did not answer; the page is served from the database instead."""


class _Breaker:
    """After a Redis error, this process skips Redis for a back-off (REDIS_BACKOFF).

    A paused or unreachable Redis then costs one timeout per process per back-off,
    not one per request: meanwhile pages come from the database and invalidations
    wait in the outbox.
    """

    open_until = 0.0
    # Set by an error, cleared by a catch-up: while Redis was away, writers may have left
    # invalidations in the outbox, so this process delivers them before it serves from Redis again.
    owes_catch_up = False

    def check(self) -> None:
        if time.monotonic() < self.open_until:
            raise StoreUnavailable("Redis skipped for a moment after an error")

    def trip(self) -> None:
        from ..conf import get_config

        self.open_until = time.monotonic() + get_config().redis_backoff
        self.owes_catch_up = True

    def close(self) -> None:
        self.open_until = 0.0
        self.owes_catch_up = False


breaker = _Breaker()


class unavailable_on_error:
    def __enter__(self) -> None:
        breaker.check()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and isinstance(exc, redis.RedisError | RedisClusterException | OSError):
            breaker.trip()
            raise StoreUnavailable(str(exc)) from exc
