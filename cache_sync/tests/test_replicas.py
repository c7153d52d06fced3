"""Read replicas (issue 21, item 9): the positions that decide whether a page built from a replica
may be stored, and the scenarios against a real streaming replica (replica_scenarios.py, run in a
child pytest with replica_settings.py against a primary and a replica that this test starts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cache_sync.conf import parse
from cache_sync.replicas import encode_position
from cache_sync.store.page_store import get_store
from cache_sync.tests.helpers import run_suite_on

HERE = Path(__file__).resolve().parent


def test_positions_compare_as_the_wal_does():
    assert encode_position("16/B374D848") == "00000016B374D848"
    assert encode_position("0/FFFFFFFF") < encode_position("1/0") < encode_position("1/A") < encode_position("A/0")
    assert encode_position(None) == "F" * 16  # not in recovery: a primary has every write


@pytest.mark.parametrize("replicas", [["replica"], {"replica": 1}, {"nowhere": "default"}, {"default": "default"}])
def test_replicas_that_are_not_a_map_of_database_aliases_fail_the_check(replicas):
    config = parse({"REPLICAS": replicas})
    assert [problem.id for problem in config.problems] == ["cache_sync.E008"]
    assert config.replicas == ()


@pytest.mark.django_db(transaction=True)
def test_an_invalidation_keeps_the_highest_position_it_was_given(page_family):
    store = get_store("default")
    store.invalidate(["book:odes"], position="0000000000000200", position_ttl_ms=60_000)
    store.invalidate(["book:odes"], position="0000000000000100", position_ttl_ms=60_000)  # delivered late
    assert page_family("book:odes") == {b"w": b"0000000000000200"}


@pytest.mark.django_db(transaction=True)
def test_every_family_of_a_batch_keeps_the_position(page_family):
    get_store("default").invalidate(
        ["book:odes", "shelf:poetry", "home"], position="00000000000000AB", position_ttl_ms=60_000
    )
    assert [page_family(key) for key in ("book:odes", "shelf:poetry", "home")] == [{b"w": b"00000000000000AB"}] * 3


@pytest.mark.django_db(transaction=True)
def test_a_store_from_a_replica_behind_the_familys_position_is_refused(page_family):
    store = get_store("default")
    store.invalidate(["book:odes"], position="0000000000000200", position_ttl_ms=60_000)
    behind = store.read("book:odes", "v", guarded=True, lease_ms=5000)
    assert behind.position == "0000000000000200"
    assert not store.store("book:odes", "v", b"old", token=behind.token, ttl_ms=60_000, replayed="0000000000000150")
    past = store.read("book:odes", "v", guarded=True, lease_ms=5000)
    assert past.status == "build"  # the refused build freed its lease
    assert store.store("book:odes", "v", b"new", token=past.token, ttl_ms=60_000, replayed="0000000000000200")


@pytest.mark.django_db(transaction=True)
def test_pages_from_a_real_streaming_replica_are_never_older_than_the_last_invalidation(postgres_servers, site_env):
    run_suite_on(
        postgres_servers.primary.url("replica_scenarios"),
        HERE / "replica_scenarios.py",
        settings="cache_sync.tests.replica_settings",
        env=site_env,
        CACHE_SYNC_TEST_REPLICA_URL=postgres_servers.replica.url("replica_scenarios"),
    )
