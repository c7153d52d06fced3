"""Read replicas: a page built from a replica is stored only if the replica had replayed its
family's last invalidation, and the reads of such a fill go to the primary meanwhile.

    CACHE_SYNC = {"REPLICAS": {"replica": "default"}, ...}   # replica alias -> its primary's
    DATABASE_ROUTERS = ["cache_sync.replicas.ReplicaRouter"]

Positions are PostgreSQL's WAL positions. The writer's delivery, after its commit, reads the
primary's `pg_current_wal_insert_lsn()` and leaves it in each family it deletes (`w`, see
scripts.py). A fill reads every replica's `pg_last_wal_replay_lsn()` once, after its lease:
if one has not replayed the family's position, the fill's reads go to the primary (the router
asks `reads_on_primary()`), and a page still read from a replica is not stored (the store script
compares the positions). A writer's own next requests read from the primary while a replica
has not replayed its write (`READ_YOUR_WRITES`, a cookie holding the position).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from .conf import get_config

logger = logging.getLogger(__name__)

WROTE_COOKIE = "cache_sync_wrote"
CAUGHT_UP = "F" * 16  # a "replica" that is a primary (or not PostgreSQL) has every write
NOWHERE = "0" * 16  # a replica that did not answer has none

_on_primary: contextvars.ContextVar[bool] = contextvars.ContextVar("cache_sync_reads_on_primary", default=False)
_written = threading.local()  # the position of this thread's last delivery, for its response's cookie


def encode_position(lsn: str | None) -> str:
    """PostgreSQL's `16/B374D848` as 16 hex digits, so that positions compare as strings (also in Lua)."""
    if lsn is None:
        return CAUGHT_UP
    high, low = str(lsn).split("/")
    return f"{int(high, 16):08X}{int(low, 16):08X}"


def invalidation_position(using: str) -> str:
    """The primary's WAL position now, after the commit of what is being delivered ("" without replicas).

    Raises DatabaseError: the delivery is then left to the relay, as when Redis is away.
    """
    if not get_config().replicas or connections[using].vendor != "postgresql":
        return ""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        position = encode_position(cursor.fetchone()[0])
    _written.position = max(getattr(_written, "position", ""), position)
    return position


def replayed_position() -> str:
    """The lowest replay position among the configured replicas ("" without replicas)."""
    replicas = get_config().replicas
    if not replicas:
        return ""
    return min(_replayed(alias) for alias, _primary in replicas)


def _replayed(alias: str) -> str:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return CAUGHT_UP
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            return encode_position(cursor.fetchone()[0])
    except DatabaseError as error:
        logger.warning("Replica %s did not say how far it has replayed: %s", alias, error)
        return NOWHERE


class FollowedFill:
    """One build's view of the replicas, from its lease to its store or release.

    If a replica has not replayed the family's last invalidation (`position`), the build's reads
    go to the primary, and the page is stored unchecked only if no statement ran on a replica
    meanwhile (a router that ignores `reads_on_primary()`, a `.using("replica")`).
    """

    def __init__(self, position: str) -> None:
        self.replayed = replayed_position()
        self.behind = bool(self.replayed and position) and self.replayed < position
        self.read_a_replica = False
        self._primary_before = reads_on_primary()
        self._watched: list[list[Callable[..., Any]]] = []
        self._ended = False
        if self.behind:
            send_reads_to_primary(True)
            for alias, _primary in get_config().replicas:
                wrappers = connections[alias].execute_wrappers
                wrappers.append(self._note_replica_read)
                self._watched.append(wrappers)

    def _note_replica_read(
        self,
        execute: Callable[[str, Any, bool, dict[str, Any]], Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.read_a_replica = True
        return execute(sql, params, many, context)

    def replayed_for_store(self) -> str:
        """The replay position the store compares with the family's ("" when only the primary was read)."""
        return "" if self.behind and not self.read_a_replica else self.replayed

    def end(self) -> None:
        """Back to the request's own routing (once; the page may be stored afterwards)."""
        if self.behind and not self._ended:
            for wrappers in self._watched:
                wrappers.remove(self._note_replica_read)
            send_reads_to_primary(self._primary_before)
        self._ended = True


def reads_on_primary() -> bool:
    """Whether this request's reads must go to the primary (a router that sends reads to replicas asks)."""
    return _on_primary.get()


def send_reads_to_primary(on: bool = True) -> None:
    _on_primary.set(on)


def route_request(request: HttpRequest) -> None:
    """At the start of a request: a writer whose write a replica has not replayed reads from the primary."""
    _written.position = ""
    wrote = request.COOKIES.get(WROTE_COOKIE, "")
    # Only ever turned on here: under the WSGI layer, a fill may have chosen the primary already.
    if wrote and get_config().replicas and replayed_position() < wrote:
        send_reads_to_primary(True)


def remember_writes(response: HttpResponse) -> None:
    """At the end of a request that delivered a write: its next requests read it (the cookie's position)."""
    position = getattr(_written, "position", "")
    _written.position = ""
    send_reads_to_primary(False)
    if position:
        max_age = int(get_config().read_your_writes)
        response.set_cookie(WROTE_COOKIE, position, max_age=max_age, httponly=True, samesite="Lax")


class ReplicaRouter:
    """Reads go to a replica of the default database, unless cache_sync sends them to the primary;
    writes and migrations go to the primary. A project with a router of its own asks
    `reads_on_primary()` in its `db_for_read`."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        replicas = [alias for alias, primary in get_config().replicas if primary == DEFAULT_DB_ALIAS]
        if not replicas or reads_on_primary():
            return DEFAULT_DB_ALIAS
        return replicas[0]

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db not in dict(get_config().replicas)
