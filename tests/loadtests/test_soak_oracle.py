"""The soak's in-memory oracle: the load test's definition of a stale read, checked by dict lookups."""

from __future__ import annotations

import argparse
import os
import random
from collections import Counter

import pytest

from loadtests.site_pages import SiteMap, product_page
from loadtests.soak_http import Answer, parse_answer
from loadtests.soak_oracle import AckBook, AckFeed, drain, pack_ack
from loadtests.soak_reader import Tally, read_next
from loadtests.soak_summary import soak_summary, soak_table

PRODUCT = "catalog.product:7"


def book_with(*acks: tuple[str, int, float]) -> AckBook:
    book = AckBook()
    book.add_all(acks)
    return book


def test_a_page_below_a_version_acknowledged_before_the_read_is_stale_with_its_age():
    check = book_with((PRODUCT, 2, 10.0), (PRODUCT, 3, 10.5)).check({PRODUCT: 1}, t_send=11.0)
    assert check.stale and check.checked
    assert check.lags[0].versions_behind == 2
    assert check.age_ms == pytest.approx(1000)  # since the first version newer than the one shown
    assert dict(check.windows) == {f"{PRODUCT}=2": pytest.approx(1000), f"{PRODUCT}=3": pytest.approx(500)}


def test_a_page_at_or_above_the_acknowledged_version_is_fresh_and_checked():
    book = book_with((PRODUCT, 3, 10.0))
    assert book.check({PRODUCT: 3}, t_send=11.0) == book.check({PRODUCT: 4}, t_send=11.0)
    assert not book.check({PRODUCT: 3}, t_send=11.0).stale
    assert book.check({PRODUCT: 3}, t_send=11.0).checked


def test_a_page_of_objects_nobody_wrote_is_neither_checked_nor_stale():
    check = book_with((PRODUCT, 3, 10.0)).check({"catalog.category:1": 1}, t_send=11.0)
    assert not check.checked and not check.stale


def test_acknowledgements_out_of_version_order_keep_the_newest():
    book = book_with((PRODUCT, 5, 10.0), (PRODUCT, 4, 10.1))
    assert book.newest[PRODUCT] == 5
    assert book.check({PRODUCT: 4}, t_send=11.0).stale


def test_acknowledgements_cross_a_pipe_whole_even_when_read_in_pieces():
    feed = AckFeed(2)
    feed.publish(PRODUCT, 3, 10.25)
    feed.publish("accounts.user:2", 9, 11.5)
    expected = [(PRODUCT, 3, 10.25), ("accounts.user:2", 9, 11.5)]
    assert drain(feed.reader_end(0)) == (expected, b"")
    message = pack_ack(PRODUCT, 4, 12.0)
    os.write(feed.pipes[1][1], message[:5])  # a message cut in two
    acks, pending = drain(feed.reader_end(1))
    assert acks == expected and pending == message[:5]
    os.write(feed.pipes[1][1], message[5:])
    assert drain(feed.reader_end(1), pending) == ([(PRODUCT, 4, 12.0)], b"")
    assert feed.book.newest == {PRODUCT: 3, "accounts.user:2": 9}


class WriteDuringRead:
    """A site whose page shows v1 while a writer's v2 is acknowledged during the read (after its t_send)."""

    def __init__(self, feed: AckFeed) -> None:
        self.feed = feed

    def get(self, path: str) -> Answer:
        self.feed.publish(PRODUCT, 2, 0.0)
        return Answer(200, {"x-data-version": f"{PRODUCT}=1", "x-cache": "hit"}, True)


def test_only_acknowledgements_drained_before_sending_count_so_a_read_overlapping_a_write_is_not_stale():
    feed = AckFeed(1)
    feed.publish(PRODUCT, 1, 0.0)
    site = SiteMap({}, [], ())
    client, book, tally = WriteDuringRead(feed), AckBook(), Tally()
    pick = lambda site, rng: product_page("jade-vase")  # noqa: E731
    pending = read_next(client, site, random.Random(1), feed.reader_end(0), b"", book, tally, pick=pick)
    assert (tally.reads, tally.checked, tally.stale) == (1, 1, 0)  # v2 was acknowledged after t_send
    read_next(client, site, random.Random(1), feed.reader_end(0), pending, book, tally, pick=pick)
    assert (tally.reads, tally.stale) == (2, 1)  # now v2 came before the read: v1 is stale
    assert tally.stale_examples[0].endswith(f" UTC /products/jade-vase/: {PRODUCT} v1 < v2")


def test_an_answer_is_parsed_for_status_headers_and_a_complete_body():
    head = b"HTTP/1.1 200 OK\r\nX-Cache: hit\r\nX-Data-Version: catalog.product:7=2\r\nContent-Length: 5\r\n\r\n"
    assert parse_answer(head + b"hello") == Answer(
        200, {"x-cache": "hit", "x-data-version": "catalog.product:7=2", "content-length": "5"}, True
    )
    assert not parse_answer(head + b"hel").complete
    assert parse_answer(b"HTTP/1.1 404 Not Found\r\n\r\n").status == 404
    assert parse_answer(b"").status == 0


def summary_of(tally: Tally, reads_goal: int = 1000) -> dict:
    soak = argparse.Namespace(reads=reads_goal, minutes=30, readers=4, writers=5, workers=3)
    return soak_summary(
        "sync", soak, tally, writes=10, write_failures={}, seconds=10.0, stuck={"stuck": 0, "pages_checked": 1},
        load_average=(1.0, 1.0), cpu_s={"readers": 1.0},
    )  # fmt: skip


def test_the_summary_gives_stale_reads_per_million_checked_and_a_bound_when_there_are_none():
    stale = summary_of(Tally(reads=2500, checked=2000, stale=3, failures=Counter({"STALE: page 0-1 ms behind": 3})))
    assert stale["stale_per_million_checked"] == 1500
    assert stale["stale_per_million_checked_95_upper"] is None
    assert stale["http_failures"] == 0 and stale["reached"]  # stale reads are not HTTP failures
    clean = summary_of(Tally(reads=2500, checked=2000, failures=Counter({"HTTP 500": 2})), reads_goal=5000)
    assert clean["stale_per_million_checked"] == 0
    assert clean["stale_per_million_checked_95_upper"] == 1500  # the rule of three: 3 / 2000
    assert clean["http_failures"] == 2 and not clean["reached"]
    assert clean["minutes_for_goal_at_this_rate"] == pytest.approx(5000 / 200 / 60)
    assert "0 (below 1,500.00 at 95 %)" in soak_table({"sync": clean})
