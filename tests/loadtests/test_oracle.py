"""The oracle's staleness logic, against fakeredis (no server, no Locust)."""

from __future__ import annotations

import fakeredis
import pytest

from catalog.models import Category, Product
from loadtests.oracle import HISTORY_LENGTH, Oracle, oracle_url, oracle_url_from_env
from loadtests.staleness import Lag, find_lags, first_newer_ack, fresh_bucket, histogram_percentile
from silk_core.data_version import format_data_version, parse_data_version

PRODUCT = "catalog.product:7"


@pytest.fixture
def oracle() -> Oracle:
    return Oracle(fakeredis.FakeRedis())


def read(oracle: Oracle, header: str, expected, t_send: float, page: str = "product:jade-vase"):
    return oracle.record_read(
        page=page,
        kind=page.split(":")[0],
        header=header,
        cache_status="hit",
        expected=expected,
        t_send=t_send,
        latency_ms=3.2,
    )


def test_parse_data_version_reads_the_header_that_pages_send():
    header = format_data_version([Product(pk=7, version=3), Category(pk=2, version=1)])
    assert parse_data_version(header) == {"catalog.product:7": 3, "catalog.category:2": 1}


def test_parse_data_version_skips_malformed_items():
    assert parse_data_version("catalog.product:7=3,,garbage,x=") == {"catalog.product:7": 3}


def test_read_showing_the_acknowledged_version_is_fresh(oracle):
    oracle.record_write(PRODUCT, 2, t_ack=100.0, pages=["product:jade-vase"])
    outcome = read(oracle, f"{PRODUCT}=2", oracle.expected("product:jade-vase"), t_send=100.5)
    assert not outcome.stale
    assert outcome.checked == 1
    assert oracle.counts()["checked"] == 1
    assert "stale" not in oracle.counts()


def test_read_showing_an_older_version_than_acknowledged_is_stale_with_its_age(oracle):
    oracle.record_write(PRODUCT, 2, t_ack=100.0, pages=["product:jade-vase"])
    outcome = read(oracle, f"{PRODUCT}=1", oracle.expected("product:jade-vase"), t_send=100.25)
    assert outcome.stale
    assert outcome.lags == (Lag(PRODUCT, 1, 2),)
    assert outcome.versions_behind == 1
    assert outcome.age_ms == pytest.approx(250)
    assert oracle.counts()["stale"] == 1
    assert oracle.results()["windows_ms"] == [pytest.approx(250)]


def test_read_overlapping_an_unacknowledged_write_never_counts(oracle):
    expected = oracle.expected("product:jade-vase")  # fetched before the write was acknowledged
    oracle.record_write(PRODUCT, 2, t_ack=100.0, pages=["product:jade-vase"])
    outcome = read(oracle, f"{PRODUCT}=1", expected, t_send=100.1)
    assert not outcome.stale
    assert outcome.checked == 0


def test_age_counts_from_the_first_version_newer_than_the_one_shown(oracle):
    oracle.record_write(PRODUCT, 2, t_ack=10.0, pages=["product:jade-vase"])
    oracle.record_write(PRODUCT, 3, t_ack=12.0, pages=["product:jade-vase"])
    expected = oracle.expected("product:jade-vase")
    assert read(oracle, f"{PRODUCT}=1", expected, t_send=15.0).age_ms == pytest.approx(5000)
    assert read(oracle, f"{PRODUCT}=2", expected, t_send=15.0).age_ms == pytest.approx(3000)


def test_out_of_order_acknowledgements_keep_the_newest_version(oracle):
    oracle.record_write(PRODUCT, 3, t_ack=10.0, pages=["product:jade-vase"])
    oracle.record_write(PRODUCT, 2, t_ack=11.0, pages=["product:jade-vase"])
    expected = oracle.expected("product:jade-vase")
    assert expected.v_min == {PRODUCT: 3}
    assert expected.last_ack == {PRODUCT: 11.0}
    assert read(oracle, f"{PRODUCT}=1", expected, t_send=10.5).age_ms == pytest.approx(500)


def test_first_newer_ack_ignores_acknowledgements_after_the_read_was_sent():
    history = [(2, 20.0), (3, 10.0), (4, 5.0)]
    assert first_newer_ack(history, Lag(PRODUCT, 1, 3), t_send=15.0) == 10.0
    assert first_newer_ack(history, Lag(PRODUCT, 1, 2), t_send=15.0) is None


def test_only_objects_the_oracle_knows_are_compared():
    assert find_lags({"a": 1, "b": 5}, {"b": 6}) == [Lag("b", 5, 6)]
    assert find_lags({"a": 1}, {"b": 6}) == []


def test_list_pages_learn_their_objects_from_writers_and_from_responses(oracle):
    other = "catalog.product:8"
    oracle.record_write(PRODUCT, 2, t_ack=1.0, pages=["category:tea", "home"])
    oracle.record_write(other, 4, t_ack=1.0, pages=["product:other"])
    assert oracle.expected("category:tea").v_min == {PRODUCT: 2}
    read(oracle, f"catalog.category:1=1,{PRODUCT}=2,{other}=4", oracle.expected("category:tea"), 2.0, "category:tea")
    assert oracle.expected("category:tea").v_min == {PRODUCT: 2, other: 4}
    assert oracle.pages_with_writes() == ["category:tea", "home", "product:other"]


def test_history_is_bounded(oracle):
    for version in range(1, HISTORY_LENGTH + 20):
        oracle.record_write(PRODUCT, version, t_ack=float(version), pages=[])
    assert oracle.client.zcard(f"lt:h:{PRODUCT}") == HISTORY_LENGTH
    assert oracle.counts()["writes"] == HISTORY_LENGTH + 19


def test_fresh_share_is_bucketed_by_time_since_the_write(oracle):
    oracle.record_write(PRODUCT, 2, t_ack=100.0, pages=["product:jade-vase"])
    expected = oracle.expected("product:jade-vase")
    read(oracle, f"{PRODUCT}=1", expected, t_send=100.003)
    read(oracle, f"{PRODUCT}=2", expected, t_send=102.0)
    assert oracle.results()["fresh"] == {"le5:total": 1, "gt1000:total": 1, "gt1000:fresh": 1}


def test_fresh_bucket_bounds():
    assert [fresh_bucket(ms) for ms in (0.5, 1, 3, 50, 999, 5000)] == [
        "le1", "le1", "le5", "le100", "le1000", "gt1000",
    ]  # fmt: skip


def test_histogram_percentile():
    histogram = {1: 50, 2: 45, 30: 5}
    assert histogram_percentile(histogram, 0.5) == 1
    assert histogram_percentile(histogram, 0.95) == 2
    assert histogram_percentile(histogram, 0.99) == 30
    assert histogram_percentile({}, 0.5) == 0


def test_oracle_lives_in_its_own_database(monkeypatch):
    assert oracle_url("redis://127.0.0.1:6379/0", 13) == "redis://127.0.0.1:6379/13"
    monkeypatch.delenv("LOADTEST_ORACLE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6380/2")
    monkeypatch.setenv("LOADTEST_ORACLE_DB", "13")
    assert oracle_url_from_env() == "redis://127.0.0.1:6380/13"
    monkeypatch.setenv("LOADTEST_ORACLE_DB", "2")
    with pytest.raises(SystemExit):
        oracle_url_from_env()
