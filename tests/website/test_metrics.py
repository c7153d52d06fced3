"""The site serves cache_sync's metrics at /metrics, to local clients and staff only."""

import pytest
from django.test import Client

from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_metrics_list_cache_sync_counts_after_pages_are_read():
    make_product(make_category("tea"), "jade-teapot")
    client = Client()
    client.get("/products/jade-teapot/")
    client.get("/products/jade-teapot/")
    body = client.get("/metrics").content.decode()
    for name in ("cache_sync_hits_total", "cache_sync_misses_total", "cache_sync_outbox_backlog"):
        assert f"\n{name}{{" in body


def test_metrics_are_refused_to_a_remote_visitor():
    assert Client().get("/metrics", REMOTE_ADDR="198.51.100.4").status_code == 403
