"""A writer that could not reach Redis waits, bounded, for the relay to deliver its changes.

A writer cut off from a Redis that other workers still reach (a timeout under load, one host's
network) would otherwise answer while those workers serve the old pages, until the relay
delivers (10-30 ms on a loaded machine: the soak measured two such stale reads). Waiting keeps
"invalidated before the response" true whenever a relay can deliver. It waits only for a relay
that is alive and whose last round reached Redis (its heartbeat): in an outage that cuts the
relay off too, readers cannot reach Redis either, and waiting would only slow every write.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from datetime import timedelta

from django.utils import timezone

from ..models import OutboxEntry
from .heartbeat import BEAT_EVERY, latest_heartbeat

POLL = 0.005  # seconds between reads of the outbox while waiting
ALIVE_WITHIN = 3 * BEAT_EVERY  # a heartbeat older than this is a relay that may be gone


def relay_can_deliver(using: str) -> bool:
    beat = latest_heartbeat(using)
    if beat is None or beat.error:
        return False
    return beat.beat_at >= timezone.now() - timedelta(seconds=ALIVE_WITHIN)


def wait_for_relay(using: str, entry_ids: Collection[int], within: float) -> bool:
    """Wait up to `within` seconds until the relay delivered (and deleted) the entries; whether it did."""
    if within <= 0 or not entry_ids or not relay_can_deliver(using):
        return False
    deadline = time.monotonic() + within
    while OutboxEntry.objects.using(using).filter(id__in=entry_ids).exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True
