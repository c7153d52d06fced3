"""Reading and emptying the outbox table (raw SQL: the ORM has no `FOR UPDATE SKIP LOCKED` delete).

Entries are written by the triggers (triggers.py) or by `record_keys()`; they are
deleted only after their invalidation reached Redis, so a writer that dies, a
Redis that is away or a broken on-commit chain leaves them for the relay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.utils import timezone

from .models import OUTBOX_TABLE, OutboxEntry

KEYS_LABEL = "cache_sync.keys"  # an entry of explicit rule keys: {"keys": [...]}


@dataclass(frozen=True)
class Change:
    """One outbox entry: the rows one statement changed (PostgreSQL) or one row (SQLite)."""

    id: int
    model: str
    rows: list[dict]  # column values by attname, "pk" always; or [{"keys": [...]}]


def _changes(rows) -> list[Change]:
    changes = []
    for id, model, data in rows:
        parsed = json.loads(data)
        changes.append(Change(id, model, parsed if isinstance(parsed, list) else [parsed]))
    return changes


def _is_postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def pending_of_this_writer(using: str, limit: int) -> list[Change]:
    """The undelivered entries this connection's transactions wrote (on SQLite, a single writer: all)."""
    mine = "WHERE writer = pg_backend_pid()" if _is_postgres(using) else ""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT id, model, data FROM {OUTBOX_TABLE} {mine} ORDER BY id LIMIT %s", [limit])
        return _changes(cursor.fetchall())


def pending_of_all_writers(using: str, limit: int) -> list[Change]:
    """The oldest undelivered entries, unlocked (see delivery.catch_up)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT id, model, data FROM {OUTBOX_TABLE} ORDER BY id LIMIT %s", [limit])
        return _changes(cursor.fetchall())


def claim_pending(using: str, limit: int) -> list[Change]:
    """The oldest undelivered entries, locked until the caller's transaction ends (relays share the work)."""
    lock = "FOR UPDATE SKIP LOCKED" if _is_postgres(using) else ""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT id, model, data FROM {OUTBOX_TABLE} ORDER BY id LIMIT %s {lock}", [limit])
        return _changes(cursor.fetchall())


def remove(using: str, changes: list[Change]) -> None:
    """Delete delivered entries claimed by `claim_pending()` (one statement)."""
    if changes:
        ids = [change.id for change in changes]
        with connections[using].cursor() as cursor:
            if _is_postgres(using):
                cursor.execute(f"DELETE FROM {OUTBOX_TABLE} WHERE id = ANY(%s)", [ids])
            else:
                cursor.execute(f"DELETE FROM {OUTBOX_TABLE} WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)


def remove_of_this_writer(using: str, changes: list[Change]) -> None:
    """Delete entries read by `pending_of_this_writer()`: all of this writer's up to the last one read.

    Ids grow with each insert, and a writer's later transactions can only add
    larger ones, so a range is exact (and far cheaper than a list of ids).
    """
    if changes:
        mine = "writer = pg_backend_pid() AND" if _is_postgres(using) else ""
        with connections[using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {OUTBOX_TABLE} WHERE {mine} id <= %s", [changes[-1].id])


def record_keys(keys: list[str], using: str) -> None:
    """Record explicit keys in the current transaction, like a trigger records a row."""
    writer = "pg_backend_pid()" if _is_postgres(using) else "0"
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) VALUES (%s, %s, {writer})",
            [KEYS_LABEL, json.dumps({"keys": keys})],
        )


def backlog(using: str) -> tuple[int, datetime | None]:
    """How many entries wait for delivery, and when the oldest was written."""
    entries = OutboxEntry.objects.using(using)
    oldest = entries.order_by("id").values_list("created_at", flat=True).first()
    return entries.count(), oldest


def discard_older_than(using: str, seconds: float) -> int:
    """Drop entries whose pages have all expired by now (see relay.prune_expired)."""
    cutoff = timezone.now() - timedelta(seconds=seconds)
    deleted, _by_model = OutboxEntry.objects.using(using).filter(created_at__lt=cutoff).delete()
    return deleted


def last_id(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {OUTBOX_TABLE}")
        return cursor.fetchone()[0]


def discard_of_this_writer_after(using: str, start: int) -> None:
    """Drop what this connection recorded after entry `start` (inside its transaction: see api.suspended)."""
    mine = "writer = pg_backend_pid() AND" if _is_postgres(using) else ""
    with connections[using].cursor() as cursor:
        cursor.execute(f"DELETE FROM {OUTBOX_TABLE} WHERE {mine} id > %s", [start])
