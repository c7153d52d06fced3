"""Acknowledgements: which outbox entries a writer has delivered, told to Redis instead of deleted from the database.

A writer that deleted its entries after Redis had their invalidation paid a database
round trip (and, in autocommit, a commit of its own) inside every request. Instead it
adds the ids it delivered to one sorted set in Redis (score: its clock, ms), in the
same pipeline as the invalidation and after it, so an id is acknowledged only once
the families before it are deleted. The relay claims entries as before, leaves out
those acknowledged (already delivered), delivers the others, and deletes them all in
bulk. An entry whose Redis call failed is never acknowledged, so the relay delivers
it. A relay that reads the acknowledgements before the writer's arrive delivers the
entry a second time, a few milliseconds after the writer: that deletes a family
again, which costs a miss only if a reader refilled it in between, never a stale page.

The set is per database (an id means something in one outbox only) and pruned by age
(the relay's housekeeping); a Redis that lost it (restarted, flushed) only makes the
relay deliver those entries again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

from django.db import connections

from ..conf import get_config
from ..store.page_store import PageStore, get_store

# Seconds an acknowledgement is kept. A relay reads them before it deletes the entries, within
# milliseconds when it runs; one left behind (a relay that delivered the entry before its writer
# acknowledged it) is dropped by the relay's housekeeping after this. One that goes before its
# entry (a relay stopped longer) only has the entry delivered again.
ACKNOWLEDGEMENT_LIFETIME = 60.0


def acknowledgements_key(store: PageStore, using: str) -> str:
    """The sorted set of a database's acknowledged entry ids (a database, not an alias: two sites'
    `default` aliases sharing a Redis and a key prefix must not acknowledge each other's ids)."""
    settings = connections[using].settings_dict
    where = "|".join(str(settings.get(part) or "") for part in ("ENGINE", "HOST", "PORT", "NAME"))
    return store.named(f"cache_sync:delivered:{hashlib.sha1(where.encode()).hexdigest()[:16]}")


# The last entry id a connection acknowledged, kept on Django's connection beside the driver connection it
# holds for (a reconnection starts from 0): its next delivery reads only later entries, as its earlier
# ones wait in the outbox for the relay's bulk delete.
_ATTRIBUTE = "_cache_sync_acknowledged"


def acknowledged_through(using: str) -> int:
    connection = connections[using]
    raw, through = getattr(connection, _ATTRIBUTE, (None, 0))
    return through if raw is not None and raw is connection.connection else 0


def note_acknowledged(using: str, ids: Iterable[int]) -> None:
    connection = connections[using]
    if connection.connection is not None:
        setattr(connection, _ATTRIBUTE, (connection.connection, max([acknowledged_through(using), *ids])))


def forget_old(using: str) -> int:
    """Drop acknowledgements older than ACKNOWLEDGEMENT_LIFETIME (the relay's housekeeping). Raises
    StoreUnavailable."""
    config = get_config()
    store = get_store(config.cache_alias)
    if not config.invalidates or not store.acknowledges_with_invalidation:
        return 0
    before_ms = int((time.time() - ACKNOWLEDGEMENT_LIFETIME) * 1000)
    return store.forget_acknowledged_before(acknowledgements_key(store, using), before_ms)
