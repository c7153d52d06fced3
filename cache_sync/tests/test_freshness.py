"""The freshness monitor: is a cached page, X ms after the database was read, as new as the database?"""

import json
import math
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from cache_sync import invalidate_keys
from cache_sync.observe import freshness
from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("cache_sync.tests.outside_urls")]


@pytest.fixture
def odes():
    book = factories.book(factories.shelf("poetry"), "odes", "Odes")
    Client().get("/versioned/odes/")  # cached, showing times_opened as its version
    return book


def measure(**kwargs):
    options = {"sample": 10, "within_ms": 5, "rng": random.Random(1), "field": "times_opened", **kwargs}
    return freshness.measure_round("default", **options)


def open_unseen(book):
    """A write outside the rule's `fields`: nothing invalidates the page, which is then stale."""
    Book.objects.filter(pk=book.pk).update(times_opened=F("times_opened") + 1)


def test_a_page_as_new_as_the_database_is_fresh(odes):
    assert measure() == freshness.Freshness(5, 1, 0)


def test_a_page_still_older_than_the_database_x_ms_later_is_stale(odes):
    open_unseen(odes)
    assert measure() == freshness.Freshness(5, 1, 1)


def test_a_page_invalidated_within_x_ms_counts_as_fresh(odes, monkeypatch):
    open_unseen(odes)
    # The monitor waits X ms between its two reads: the invalidation lands while it waits.
    monkeypatch.setattr(freshness.time, "sleep", lambda seconds: invalidate_keys(["book:odes"]))
    assert measure() == freshness.Freshness(5, 1, 0)


def test_a_page_refilled_within_x_ms_with_the_new_version_counts_as_fresh(odes, monkeypatch):
    open_unseen(odes)

    def refill(seconds):
        invalidate_keys(["book:odes"])
        Client().get("/versioned/odes/")

    monkeypatch.setattr(freshness.time, "sleep", refill)
    assert measure() == freshness.Freshness(5, 1, 0)


def test_pages_without_versions_are_not_sampled(odes):
    Client().get("/books/odes/")  # no X-Data-Version header
    assert measure().sampled == 1


def test_a_page_whose_rows_are_gone_is_not_sampled(odes):
    Book.objects.filter(pk=odes.pk).update(slug="gone")  # invalidates book:odes
    Client().get("/versioned/gone/")
    Book.objects.all().delete()
    assert measure().sampled == 0


def test_the_ratio_in_nines():
    assert freshness.Freshness(100, 1000, 1).ratio == 0.999
    assert freshness.Freshness(100, 1000, 1).nines == pytest.approx(3)
    # No stale sample: the sample's resolution, log10(n), a lower bound.
    assert freshness.Freshness(100, 500, 0).nines == pytest.approx(math.log10(500))


def test_parse_versions_skips_what_is_malformed():
    assert freshness.parse_versions("app.m:1=3, app.m:x=, junk,app.n:ab=2") == {("app.m", "1"): 3, ("app.n", "ab"): 2}


def test_the_command_runs_rounds_writes_json_and_publishes_for_the_metrics(odes, tmp_path):
    open_unseen(odes)
    out = StringIO()
    target = tmp_path / "freshness.json"
    call_command(
        "cache_sync",
        *("freshness", "--rounds", "2", "--interval", "0", "--within-ms", "5"),
        *("--version-field", "times_opened", "--json-out", str(target)),
        stdout=out,
    )
    assert "Fresh within 5 ms: 0 of 2 sampled page variant(s) in 2 round(s)" in out.getvalue()
    assert json.loads(target.read_text())["stale"] == 2
    assert freshness.last_freshness("default")["sampled"] == 2
