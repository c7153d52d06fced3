"""The report: summary numbers, files and the plot, from a small fake run."""

from __future__ import annotations

import json

import fakeredis

from loadtests.oracle import Oracle
from loadtests.report import summarize, write_reports
from loadtests.site_pages import SiteMap, crawl
from loadtests.staleness import is_stale_failure, stale_failure_message

PRODUCT = "catalog.product:7"


def fake_mode(mode: str, stale: bool) -> dict:
    oracle = Oracle(fakeredis.FakeRedis())
    oracle.record_write(PRODUCT, 2, t_ack=1000.0, pages=["product:p"])
    oracle.record_write(PRODUCT, 3, t_ack=1001.0, pages=["product:p"])
    for i in range(10):
        expected = oracle.expected("product:p")
        shown = 2 if stale and i < 4 else 3
        oracle.record_read(
            page="product:p",
            kind="product",
            header=f"{PRODUCT}={shown}",
            cache_status="hit" if i else "miss",
            expected=expected,
            t_send=1001.5 + i,
            latency_ms=2 + i,
        )
    stale_reads = 4 if stale else 0
    rows = [
        {"Type": "GET", "Name": "/products/[slug]/", "Requests/s": "10.0", "Failure Count": str(stale_reads + 1)},
        {"Type": "POST", "Name": "/staff/products/[slug]/", "Requests/s": "1.0", "Failure Count": "0"},
    ]
    failures = [
        {"Method": "GET", "Name": "/products/[slug]/", "Error": "HTTP 502", "Occurrences": "1"},
        {"Method": "GET", "Name": "/products/[slug]/", "Error": f"CatchResponseError('{stale_failure_message(900)}')"},
    ]
    failures[1]["Occurrences"] = str(stale_reads)
    oracle.record_page_gone("category")  # a success in Locust's rows: no HTTP failure
    stuck = {"pages_checked": 1, "stuck": int(stale), "examples": ["/products/p/ (hit)"] if stale else []}
    return summarize(mode, oracle.results(), rows, stuck, duration=10, locust_returncode=0, failure_rows=failures)


def test_summary_counts_stale_reads_and_windows():
    result = fake_mode("ttl", stale=True)
    assert result["reads"] == 10
    assert result["stale_reads"] == 4
    assert result["stale_ratio"] == 0.4
    assert result["cache_hit_ratio"] == 0.9
    assert result["requests_per_s"] == 11.0
    assert result["http_failures"] == 1  # the 502, not the stale reads (failures of their requests too)
    assert result["pages_gone"] == 1 and result["reads"] == 10  # a category page gone is not a read
    assert result["staleness_window_ms"]["max"] == 3500  # last stale read at 1004.5, v3 acked at 1001
    assert result["staleness_window_ms"]["writes_seen_stale"] == 1
    assert result["read_latency_ms"]["p50"] == 6


def test_write_reports_writes_table_json_and_plot(tmp_path):
    results = {"ttl": fake_mode("ttl", True), "sync": fake_mode("sync", False)}
    settings = dict(duration=10, users=2, writers=0.2, ttl=30, categories=1, products=1, profiles=1, workers=1)
    table = write_reports(results, settings, tmp_path)
    assert "| **stale reads** | **4** | **0** |" in table
    assert (tmp_path / "stale_reads.png").stat().st_size > 1000
    assert "stuck pages after the run" in (tmp_path / "summary.md").read_text()
    assert "| category pages gone (404 past the last, expected) | 1 | 1 |" in table
    assert json.loads((tmp_path / "summary.json").read_text())["modes"]["sync"]["stale_reads"] == 0


def test_crawl_finds_categories_pages_and_home_products(monkeypatch):
    site = {
        "http://h/": '<a href="/categories/tea/">Tea</a><a href="/products/new-cup-9/">Cup</a>',
        "http://h/categories/tea/?page=1": '<a href="/products/a-1/">A</a><a href="?page=2">Next &rarr;</a>',
        "http://h/categories/tea/?page=2": '<a href="/products/b-2/">B</a>',
    }
    monkeypatch.setattr("loadtests.site_pages._get", site.__getitem__)
    found = crawl("http://h/", usernames=["shopper001"])
    assert found.categories == {"tea": [["a-1"], ["b-2"]]}
    assert found.home_products == ("new-cup-9",)
    assert found.hot_products == ["new-cup-9", "a-1"]
    assert SiteMap.from_json(found.to_json()) == found
    assert [p.url for p in found.pages_of_key("category:tea")] == [
        "/categories/tea/?page=1",
        "/categories/tea/?page=2",
    ]


def test_a_stale_reads_failure_names_its_age_in_a_few_buckets():
    assert stale_failure_message(0.4) == "STALE: page 0-1 ms behind an acknowledged write"
    assert stale_failure_message(50) == "STALE: page 20-100 ms behind an acknowledged write"
    assert stale_failure_message(25_000) == "STALE: page >1000 ms behind an acknowledged write"
    assert is_stale_failure(f"CatchResponseError({stale_failure_message(3)!r})")
    assert not is_stale_failure("HTTP 500")


def test_the_summary_reports_the_writers_throughput_of_sync_against_naive(tmp_path):
    results = {"naive": fake_mode("naive", False), "sync": fake_mode("sync", False)}
    results["naive"]["writes_per_s"], results["sync"]["writes_per_s"] = 4.0, 3.0
    write_reports(results, dict(duration=10), tmp_path)
    summary = (tmp_path / "summary.md").read_text()
    assert "Writers' throughput: `sync` 3.0 writes/s, `naive` 4.0 writes/s (0.75x)." in summary
    result = fake_mode("sync", False)
    assert result["writes_per_s"] == result["writes"] / 10  # over the 10 s run
