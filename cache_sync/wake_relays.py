"""Who wakes the relays on PostgreSQL: the triggers for writers that do not deliver, the writer itself when it fails.

A trigger's NOTIFY makes PostgreSQL serialise the commits of every transaction
that notified (one lock for the whole cluster), and wakes each relay to race the
writer for entries the writer is about to deliver. So a process that delivers
its own writes marks each of its connections (`mark_as_delivering`) and its
triggers stay silent; when it leaves entries behind (Redis away, the outbox
unreadable) it notifies at once (`wake_relays`). A writer killed between its
commit and its delivery notifies nobody: the relay finds its entries at its
next poll (waiters.IDLE_POLL). Writers that do not run cache_sync (psql, another
program, a pooler that reset the session) notify from the trigger, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, connections

from .trigger_sql import NOTIFY_CHANNEL, WRITER_DELIVERS

logger = logging.getLogger(__name__)


def mark_as_delivering(raw_connection: Any) -> None:
    """Session setting of a new psycopg connection: its triggers do not notify (set outside any transaction)."""
    with raw_connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', false)", [WRITER_DELIVERS])


def wake_relays(using: str) -> None:
    """Notify the relays that entries wait (at the commit of the transaction, if one is open); never raises."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return  # SQLite's relay watches data_version: every commit wakes it
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    except DatabaseError:
        logger.warning("Could not notify the relays: they find the entries at their next poll", exc_info=True)
