"""Prometheus metrics, read at scrape time: `/metrics` (cache_sync.urls), local or staff clients only.

A custom collector reads what cache_sync already keeps: the event counts every
process flushes to one Redis hash (stats.py), the outbox backlog and the relays'
heartbeats in the database, the freshness monitor's last figure. So the numbers
are those of every gunicorn worker whichever one answers the scrape, counting
costs the hot path nothing more, and no multiprocess directory is needed
(prometheus_client's multiprocess mode would add a file write per event).
A source that does not answer is left out of the scrape, never a 500.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..capture import outbox
from ..conf import get_config
from ..delivery.delivery import outbox_aliases, renderable_models
from ..delivery.heartbeat import latest_heartbeat
from ..store import stats
from ..store.breaker import StoreUnavailable, breaker
from ..store.page_store import get_store
from .freshness import last_freshness

logger = logging.getLogger(__name__)

# stats.EVENTS -> (metric name without _total, help)
EVENT_METRICS = {
    "hit": ("cache_sync_hits", "Cached page variants served from Redis."),
    "miss": ("cache_sync_misses", "Pages built from the database (a miss, a build under a lease)."),
    "wait": ("cache_sync_lease_waits", "Polls of a reader waiting for another reader's build (stampede guard)."),
    "stored": ("cache_sync_pages_stored", "Built pages stored in Redis."),
    "not_stored": ("cache_sync_pages_not_storable", "Built pages refused by Django's caching rules."),
    "stale_set_prevented": ("cache_sync_stale_fills_refused", "Fills refused: an invalidation came after the read."),
    "invalidated_keys": ("cache_sync_invalidated_keys", "Page families invalidated."),
    "rebuilt": ("cache_sync_rebuilds", "Pages refilled after commit by `rebuild` rules."),
    "redis_error": ("cache_sync_redis_errors", "Redis errors met (each served from the database)."),
    "relay_error": ("cache_sync_relay_errors", "Relay rounds that failed."),
}


class CacheSyncCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        alias = get_config().cache_alias
        yield from self.redis_metrics(alias)
        for database in outbox_aliases():
            try:
                yield from self.outbox_metrics(database)
            except DatabaseError as error:
                logger.warning("metrics: database %r does not answer: %s", database, error)

    def redis_metrics(self, alias: str) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "cache_sync_redis_up", "1 when the cache's Redis answered this scrape.", labels=["cache"]
        )
        state = GaugeMetricFamily(
            "cache_sync_breaker_open",
            "1 while the scraped process skips Redis after an error (per process: the one that answered).",
            labels=["cache"],
        )
        try:
            get_store(alias).ping()
            totals = stats.totals(alias)
        except StoreUnavailable:
            totals = None
        up.add_metric([alias], 0.0 if totals is None else 1.0)
        state.add_metric([alias], 1.0 if time.monotonic() < breaker.open_until else 0.0)
        yield from (up, state)
        if totals is None:
            return
        for event, (name, help_text) in EVENT_METRICS.items():
            counter = CounterMetricFamily(name, help_text, labels=["cache"])
            counter.add_metric([alias], float(totals.get(event, 0)))
            yield counter
        if (fresh := last_freshness(alias)) is not None:
            yield from freshness_metrics(alias, fresh)

    def outbox_metrics(self, database: str) -> Iterator[Metric]:
        now = timezone.now()
        backlog = outbox.backlog(database, renderable_models())
        beat = latest_heartbeat(database)
        values = [
            ("cache_sync_outbox_backlog", "Outbox entries waiting for delivery.", backlog.pending),
            (
                "cache_sync_outbox_unrenderable",
                "Waiting entries of models this process has no rule for.",
                backlog.unrenderable,
            ),
            (
                "cache_sync_outbox_oldest_age_seconds",
                "Age of the oldest waiting entry (0: none).",
                _age(now, backlog.oldest),
            ),
        ]
        if beat is not None:
            values += [
                (
                    "cache_sync_relay_last_heartbeat_timestamp_seconds",
                    "When the freshest relay last beat (Unix time).",
                    beat.beat_at.timestamp(),
                ),
                (
                    "cache_sync_relay_heartbeat_age_seconds",
                    "Seconds since the freshest relay last beat.",
                    _age(now, beat.beat_at),
                ),
            ]
            if beat.caught_up_at is not None:
                values.append(
                    (
                        "cache_sync_relay_lag_seconds",
                        "Seconds since the relay last left nothing deliverable behind.",
                        _age(now, beat.caught_up_at),
                    )
                )
        for name, help_text, value in values:
            gauge = GaugeMetricFamily(name, help_text, labels=["database"])
            gauge.add_metric([database], float(value))
            yield gauge


def _age(now: datetime, then: datetime | None) -> float:
    return (now - then).total_seconds() if then else 0.0


def freshness_metrics(alias: str, fresh: dict[str, float]) -> Iterable[Metric]:
    labels = ["cache", "within_ms"]
    within = [alias, str(int(fresh["within_ms"]))]
    ratio = GaugeMetricFamily("cache_sync_freshness_ratio", "Share of sampled pages fresh within X ms.", labels=labels)
    ratio.add_metric(within, fresh["ratio"])
    nines = GaugeMetricFamily(
        "cache_sync_freshness_nines", "The same share in nines (-log10(1 - ratio)).", labels=labels
    )
    nines.add_metric(within, fresh["nines"])
    sampled = GaugeMetricFamily(
        "cache_sync_freshness_sampled", "Pages the monitor's last round compared.", labels=labels
    )
    sampled.add_metric(within, fresh["sampled"])
    return (ratio, nines, sampled)


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CacheSyncCollector())
    return generate_latest(registry)


def may_scrape(request: HttpRequest) -> bool:
    """Staff, or a client on METRICS_NETWORKS that came through no proxy (a proxy on this host
    would otherwise make every visitor local)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = get_config().metrics_networks
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        raise PermissionDenied("metrics are served to local or staff clients only")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
