"""The relay's heartbeat: what each relay last did, in the database it relays (see models.RelayHeartbeat)."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection
from datetime import datetime, timedelta

from django.utils import timezone

from ..capture import outbox
from ..models import RelayHeartbeat

BEAT_EVERY = 5.0  # seconds between a relay's heartbeats (its housekeeping, relay.py)
FORGET_AFTER = 86400.0  # seconds: rows of relays gone this long are deleted by the next relay that beats


def relay_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def write_heartbeat(
    using: str, name: str, caught_up_at: datetime | None, error: str, labels: Collection[str] | None
) -> RelayHeartbeat:
    """Record this relay's round: now, when it last caught up, the backlog, what it cannot render."""
    backlog = outbox.backlog(using, labels)
    now = timezone.now()
    beat, _created = RelayHeartbeat.objects.using(using).update_or_create(
        relay=name,
        defaults={
            "beat_at": now,
            "caught_up_at": caught_up_at,
            "backlog": backlog.pending,
            "unrenderable": backlog.unrenderable,
            "error": error[:2000],
        },
    )
    RelayHeartbeat.objects.using(using).filter(beat_at__lt=now - timedelta(seconds=FORGET_AFTER)).delete()
    return beat


def latest_heartbeat(using: str) -> RelayHeartbeat | None:
    """The freshest relay's heartbeat on this database (several relays may run)."""
    return RelayHeartbeat.objects.using(using).order_by("-beat_at").first()
