"""`/metrics`: cache_sync's counts, outbox and relay state for Prometheus, to local or staff clients only."""

import importlib
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import clear_url_caches
from prometheus_client.parser import text_string_to_metric_families

import cache_sync.urls
from cache_sync.delivery.heartbeat import write_heartbeat
from cache_sync.models import OutboxEntry
from cache_sync.observe import freshness
from cache_sync.tests import factories, outside_urls
from cache_sync.tests.settings import CACHE_SYNC
from tools.harness.ports import quiet_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("cache_sync.tests.outside_urls")]


def scrape(client=None, **extra) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(metrics, name, **labels):
    return metrics[(name, tuple(sorted(labels.items())))]


def test_hits_misses_and_invalidations_are_counted_across_processes():
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    before = scrape()
    client = Client()
    client.get("/books/odes/")
    client.get("/books/odes/")
    factories.shelf("epics")
    after = scrape()
    for name, n in (("cache_sync_misses_total", 1), ("cache_sync_hits_total", 1)):
        assert value(after, name, cache="default") - value(before, name, cache="default") == n
    assert value(after, "cache_sync_invalidated_keys_total", cache="default") > value(
        before, "cache_sync_invalidated_keys_total", cache="default"
    )
    assert value(after, "cache_sync_redis_up", cache="default") == 1
    assert value(after, "cache_sync_breaker_open", cache="default") == 0
    for name in ("lease_waits", "stale_fills_refused", "redis_errors", "rebuilds"):
        assert ("cache_sync_" + name + "_total", (("cache", "default"),)) in after


def test_the_outbox_backlog_and_the_relay_heartbeat_are_exported():
    assert value(scrape(), "cache_sync_outbox_backlog", database="default") == 0
    OutboxEntry.objects.create(model="testapp.Book", data='{"pk": 1}')
    write_heartbeat("default", "relay-a", None, "", None)
    metrics = scrape()
    assert value(metrics, "cache_sync_outbox_backlog", database="default") == 1
    assert value(metrics, "cache_sync_outbox_oldest_age_seconds", database="default") >= 0
    assert value(metrics, "cache_sync_relay_heartbeat_age_seconds", database="default") >= 0
    assert ("cache_sync_relay_lag_seconds", (("database", "default"),)) not in metrics  # never caught up


def test_with_redis_away_the_database_part_is_still_served(cache_on):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    metrics = scrape()
    assert value(metrics, "cache_sync_redis_up", cache="default") == 0
    assert value(metrics, "cache_sync_breaker_open", cache="default") == 1
    assert ("cache_sync_hits_total", (("cache", "default"),)) not in metrics
    assert value(metrics, "cache_sync_outbox_backlog", database="default") == 0


def test_the_freshness_monitor_figure_is_exported():
    freshness.publish("default", freshness.Freshness(250, 1000, 1))
    metrics = scrape()
    assert value(metrics, "cache_sync_freshness_ratio", cache="default", within_ms="250") == 0.999
    assert value(metrics, "cache_sync_freshness_nines", cache="default", within_ms="250") == pytest.approx(3)


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"},  # through a proxy on this host
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.7"},
    ],
)
def test_other_clients_are_refused(extra):
    assert Client().get("/metrics", **extra).status_code == 403


def test_staff_are_served_from_anywhere_and_other_users_are_not():
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    assert scrape(client, REMOTE_ADDR="203.0.113.7")
    user.is_staff = False
    user.save()
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403


def test_networks_setting_admits_other_clients(settings):
    settings.CACHE_SYNC = {**CACHE_SYNC, "METRICS_NETWORKS": ["203.0.113.0/24"]}
    assert scrape(REMOTE_ADDR="203.0.113.7")
    assert Client().get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed


def reload_urls():
    importlib.reload(cache_sync.urls)
    importlib.reload(outside_urls)  # its include() holds a resolver of the old patterns
    clear_url_caches()


def test_metrics_path_setting_moves_the_url(settings):
    settings.CACHE_SYNC = {**CACHE_SYNC, "METRICS_PATH": "ops/cache-metrics"}
    try:
        reload_urls()
        assert Client().get("/ops/cache-metrics").status_code == 200
        assert Client().get("/metrics").status_code == 404
    finally:
        settings.CACHE_SYNC = CACHE_SYNC
        reload_urls()


def test_without_prometheus_client_the_urlconf_loads_and_metrics_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cache_sync.observe.metrics", None)  # import fails as if it were missing
    response = Client().get("/metrics")
    assert response.status_code == 501
    assert b"install prometheus-client" in response.content
