"""The load test's freshness comparison and metrics series (the soak's figures: test_soak_oracle.py)."""

import pytest

from loadtests.monitoring import agree, figures, freshness_table, oracle_freshness, rates


def test_the_oracle_counts_stale_reads_older_than_x_only():
    results = {"counts": {"checked": 1000}, "age_ms": {5: 7, 100: 2, 400: 1}}
    assert oracle_freshness(results, 100) == figures(1000, 1, 100)
    assert oracle_freshness(results, 100)["nines"] == pytest.approx(3)


def test_no_stale_sample_gives_the_resolution_of_the_sample():
    assert figures(1000, 0, 100)["nines"] == pytest.approx(3)
    assert figures(0, 0, 100)["nines"] == 0


@pytest.mark.parametrize(
    ("monitor", "oracle", "agreed"),
    [
        (figures(800, 0, 100), figures(300, 0, 100), True),
        (figures(800, 1, 100), figures(300, 0, 100), True),  # one stale sample: within the +1
        (figures(800, 5, 100), figures(300, 0, 100), False),
        (figures(1000, 100, 100), figures(1000, 95, 100), True),
        (figures(1000, 10, 100), figures(1000, 95, 100), False),
    ],
)
def test_monitor_and_oracle_agree_when_the_oracles_rate_predicts_the_monitors_count(monitor, oracle, agreed):
    assert agree(monitor, oracle) is agreed


def test_a_disagreement_in_sync_is_shouted_in_the_report():
    found = {"monitor": figures(800, 9, 100), "oracle": figures(300, 0, 100), "agree": False}
    assert "**NO**" in freshness_table({"sync": {"freshness": found}})
    assert "a baseline" in freshness_table({"naive": {"freshness": found}})


def test_rates_are_per_second_between_scrapes():
    series = [(0.0, {"cache_sync_hits_total": 10}), (2.0, {"cache_sync_hits_total": 30}), (3.0, {})]
    assert rates(series, "cache_sync_hits_total") == ([2.0], [10.0])
