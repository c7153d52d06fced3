"""Reading and emptying the outbox table (raw SQL: the ORM has no `FOR UPDATE SKIP LOCKED` delete).

Entries are written by the triggers (triggers.py) or by `record_keys()`; they are
deleted only after their invalidation reached Redis (by the relay, in bulk, once
their writer acknowledged them there or the relay delivered them itself: delivery/acks.py),
so a writer that dies, a Redis that is away or a broken on-commit chain leaves them
for the relay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connections
from django.db.models.functions import Now
from django.utils import timezone

from ..models import OUTBOX_TABLE, OutboxEntry
from .followed import ENTRIES_CTE, Follow

logger = logging.getLogger(__name__)

KEYS_LABEL = "cache_sync.keys"  # an entry of explicit rule keys: {"keys": [...]}


# A recorded row as JSON gives it: each value's type is its column's (or the keys' list), known only per row.
Row = dict[str, Any]
# (label, path) -> the [target id, value] pairs read with the entries, as JSON gives them.
Followed = dict[tuple[str, tuple[str, ...]], list[list[object]]]


@dataclass(frozen=True)
class Change:
    """One outbox entry: the rows one statement changed (PostgreSQL) or one row (SQLite)."""

    id: int
    model: str
    rows: list[Row]  # column values by attname, "pk" always; or [{"keys": [...]}]


def _changes(rows: Iterable[tuple[int, str, str]]) -> list[Change]:
    changes = []
    for id, model, data in rows:
        parsed = json.loads(data)
        changes.append(Change(id, model, parsed if isinstance(parsed, list) else [parsed]))
    return changes


def _is_postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _of_models(using: str, labels: Collection[str] | None) -> tuple[str, list[str | list[str]]]:
    """A condition on `model` (and its parameters): only entries this process can render.

    An entry of a model that this process's rules do not name (written under a
    newer release's rules, or an older one's) is left for a process that can
    render it: never read, so never deleted, and never spun on.
    """
    if labels is None:
        return "TRUE" if _is_postgres(using) else "1", []
    if _is_postgres(using):
        return "model = ANY(%s)", [list(labels)]
    if not labels:
        return "0", []
    return f"model IN ({', '.join(['%s'] * len(labels))})", list(labels)


def pending_of_this_writer(
    using: str, limit: int, labels: Collection[str] | None = None, after: int = 0
) -> list[Change]:
    """The entries this connection's transactions wrote (on SQLite, a single writer: all) after entry `after`
    (the last one it acknowledged: delivery/acks.py)."""
    mine = "writer = pg_backend_pid() AND" if _is_postgres(using) else ""
    of_models, params = _of_models(using, labels)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT id, model, data FROM {OUTBOX_TABLE} WHERE {mine} {of_models} AND id > %s ORDER BY id LIMIT %s",
            [*params, after, limit],
        )
        return _changes(cursor.fetchall())


def pending_of_this_writer_followed(
    using: str, limit: int, labels: Collection[str], follows: Sequence[Follow], after: int = 0
) -> tuple[list[Change], Followed]:
    """Like `pending_of_this_writer()` (PostgreSQL), with each of `follows` read in the same statement:
    (the entries, (label, path) -> its [target id, value] pairs as JSON gives them)."""
    parts = " ".join(
        f"UNION ALL SELECT {n}, NULL, NULL, (SELECT COALESCE(jsonb_agg(jsonb_build_array(f.k, f.v)), "
        f"'[]'::jsonb)::text FROM ({follow.sql}) AS f(k, v))"
        for n, follow in enumerate(follows, 1)
    )
    with connections[using].cursor() as cursor:
        cursor.execute(
            # A plain SELECT to the statement hook (a WITH naming a watched table would count as a write).
            f"SELECT part, id, model, data FROM (WITH {ENTRIES_CTE} AS (SELECT id, model, data FROM {OUTBOX_TABLE} "
            f"WHERE writer = pg_backend_pid() AND model = ANY(%s) AND id > %s ORDER BY id LIMIT %s) "
            f"SELECT 0 AS part, id, model, data FROM {ENTRIES_CTE} {parts}) AS entries ORDER BY part, id",
            # Follow.params are the ORM compiler's own parameters for its query: values the driver adapts.
            [list(labels), after, limit, *(param for follow in follows for param in follow.params)],  # type: ignore[list-item]
        )
        rows = cursor.fetchall()
    changes = _changes([(id, model, data) for part, id, model, data in rows if part == 0])
    followed = {
        (follows[part - 1].label, follows[part - 1].path): json.loads(data, parse_float=Decimal)
        for part, _id, _m, data in rows
        if part
    }
    return changes, followed


def pending_of_all_writers(using: str, limit: int, labels: Collection[str] | None = None) -> list[Change]:
    """The oldest undelivered entries, unlocked (see delivery.catch_up)."""
    of_models, params = _of_models(using, labels)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT id, model, data FROM {OUTBOX_TABLE} WHERE {of_models} ORDER BY id LIMIT %s", [*params, limit]
        )
        return _changes(cursor.fetchall())


def claim_pending(using: str, limit: int, labels: Collection[str] | None = None) -> list[Change]:
    """The oldest undelivered entries, locked until the caller's transaction ends (relays share the work)."""
    lock = "FOR UPDATE SKIP LOCKED" if _is_postgres(using) else ""
    of_models, params = _of_models(using, labels)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT id, model, data FROM {OUTBOX_TABLE} WHERE {of_models} ORDER BY id LIMIT %s {lock}",
            [*params, limit],
        )
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


def remove_of_this_writer(using: str, changes: list[Change], labels: Collection[str] | None = None) -> None:
    """Delete entries read by `pending_of_this_writer()` (same `labels`): this writer's up to the last one read.

    Ids grow with each insert, and a writer's later transactions can only add
    larger ones, so a range is exact (and far cheaper than a list of ids).
    """
    if changes:
        mine = "writer = pg_backend_pid() AND" if _is_postgres(using) else ""
        of_models, params = _of_models(using, labels)
        with connections[using].cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {OUTBOX_TABLE} WHERE {mine} {of_models} AND id <= %s", [*params, changes[-1].id]
            )


def record_keys(keys: list[str], using: str, told_setting: str) -> tuple[Change, bool]:
    """Record explicit keys in the current transaction, like a trigger records a row: (the entry, whether
    the session setting `told_setting` is on, PostgreSQL)."""
    data = json.dumps({"keys": keys})
    with connections[using].cursor() as cursor:
        if _is_postgres(using):
            cursor.execute(
                f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) VALUES (%s, %s, pg_backend_pid()) "
                f"RETURNING id, current_setting(%s, true)",
                [KEYS_LABEL, data, told_setting],
            )
            id, setting = cursor.fetchone()
            return Change(id, KEYS_LABEL, [{"keys": keys}]), setting == "on"
        cursor.execute(f"INSERT INTO {OUTBOX_TABLE} (model, data, writer) VALUES (%s, %s, 0)", [KEYS_LABEL, data])
        return Change(cursor.lastrowid, KEYS_LABEL, [{"keys": keys}]), False


@dataclass(frozen=True)
class Backlog:
    pending: int  # entries waiting for delivery
    oldest: datetime | None  # when the oldest was written (its statement's time)
    unrenderable: int = 0  # of those, entries of models the given rules do not name (another release's)


def backlog(using: str, labels: Collection[str] | None = None) -> Backlog:
    """What waits for delivery; `unrenderable` counts the entries of models outside `labels`."""
    entries = OutboxEntry.objects.using(using)
    oldest = entries.order_by("id").values_list("created_at", flat=True).first()
    pending = entries.count()
    unrenderable = entries.exclude(model__in=list(labels)).count() if labels is not None and pending else 0
    return Backlog(pending, oldest, unrenderable)


def mark_seen(using: str) -> int:
    """Stamp the entries no relay has seen yet with the time now: committed ones only are visible,
    so the stamp is at or after their commit (see relay.prune_expired)."""
    with connections[using].cursor() as cursor:
        if _is_postgres(using):
            # Rows claimed by a relay that is delivering them are skipped, never waited for.
            cursor.execute(
                f"UPDATE {OUTBOX_TABLE} SET seen_at = statement_timestamp() WHERE id IN "
                f"(SELECT id FROM {OUTBOX_TABLE} WHERE seen_at IS NULL FOR UPDATE SKIP LOCKED)"
            )
            marked: int = cursor.rowcount
            return marked
    return OutboxEntry.objects.using(using).filter(seen_at__isnull=True).update(seen_at=Now())


def discard_seen_before(using: str, seconds: float) -> int:
    """Drop entries first seen more than `seconds` ago: their pages have all expired (relay.prune_expired)."""
    cutoff = timezone.now() - timedelta(seconds=seconds)
    deleted, _by_model = OutboxEntry.objects.using(using).filter(seen_at__lt=cutoff).delete()
    return deleted


def vacuum(using: str) -> None:
    """Make the space of delivered entries reusable (PostgreSQL; the relay, every few seconds).

    Every write inserts an entry and deletes it: the dead rows and their index entries
    stay until a VACUUM, and autovacuum visits a table at most once a minute
    (autovacuum_naptime), so under steady writes the outbox grows (600 kB to 12.7 MB
    in 10 minutes). Vacuumed every few seconds it holds a few seconds of writes.
    Outside a transaction; a database user that does not own the table gets a
    warning from PostgreSQL, not an error; a failure is logged, never raised.
    """
    if not _is_postgres(using):
        return
    try:
        with connections[using].cursor() as cursor:
            cursor.execute(f"VACUUM {OUTBOX_TABLE}")
    except DatabaseError as error:  # inside a transaction (a pooler's), no right: autovacuum's pace, not a lost relay
        logger.warning("Could not vacuum the outbox (autovacuum will): %s", error)


def last_id(using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {OUTBOX_TABLE}")
        last: int = cursor.fetchone()[0]
        return last


def discard_after(using: str, start: int) -> None:
    """Drop what was recorded after entry `start`, inside the transaction that recorded it (SQLite's
    api.suspended: one writer at a time, so every later entry is this transaction's)."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"DELETE FROM {OUTBOX_TABLE} WHERE id > %s", [start])
