"""The Grafana dashboard in dashboards/ charts what /metrics serves, under the names it serves them."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from cache_sync.delivery.heartbeat import write_heartbeat
from cache_sync.models import RelayHeartbeat
from cache_sync.observe import freshness

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboards" / "cache_sync.json"


def test_every_metric_the_dashboard_charts_is_served():
    freshness.publish("default", freshness.Freshness(100, 10, 0))
    beat = write_heartbeat("default", "relay-a", None, "", None)
    RelayHeartbeat.objects.filter(pk=beat.pk).update(caught_up_at=beat.beat_at)
    served = set(re.findall(r"^(cache_sync_\w+?)(?:\{| )", Client().get("/metrics").content.decode(), re.MULTILINE))
    dashboard = json.loads(DASHBOARD.read_text())
    charted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"cache_sync_\w+", target["expr"])
    }
    assert charted and charted <= served, charted - served
