"""What a reader makes of an answer: a category page past the last one is gone, not a failure nor a read."""

from __future__ import annotations

import fakeredis
import pytest

from catalog.models import Product
from catalog.views import PRODUCTS_PER_PAGE
from loadtests.oracle import Oracle
from loadtests.reading import judge_read
from loadtests.report import summarize
from loadtests.site_pages import category_page, home_page, product_page, profile_page
from loadtests.staleness import Expected
from tests.factories import make_category, make_product

PRODUCT = "catalog.product:7"
PAGE_HEADERS = {"X-Data-Version": f"{PRODUCT}=2", "X-Cache": "hit"}


@pytest.fixture
def oracle() -> Oracle:
    return Oracle(fakeredis.FakeRedis())


def judge(oracle: Oracle, page, status: int, headers=PAGE_HEADERS, expected: Expected | None = None) -> str | None:
    expected = expected or oracle.expected(page.key)
    return judge_read(oracle, page, status, headers, expected=expected, t_send=100.0, latency_ms=2.0)


def test_a_category_page_past_the_last_one_is_gone_not_a_failure_nor_a_read(oracle):
    assert judge(oracle, category_page("tea", 3), 404, headers={}) is None
    assert oracle.counts() == {"gone:category": 1}  # no read: nothing to check for staleness


@pytest.mark.parametrize(
    "page",
    [category_page("tea", 1), product_page("jade-vase"), profile_page("shopper001"), home_page()],
    ids=["category page 1", "product", "profile", "home"],
)
def test_any_other_404_is_a_failure(oracle, page):
    assert judge(oracle, page, 404, headers={}) == "HTTP 404"
    assert oracle.counts() == {}


def test_a_category_page_past_the_first_that_answers_an_error_is_a_failure(oracle):
    assert judge(oracle, category_page("tea", 3), 500, headers={}) == "HTTP 500"


def test_a_page_without_its_version_header_is_a_failure(oracle):
    assert judge(oracle, product_page("jade-vase"), 200, headers={"X-Cache": "hit"}).startswith("X-Data-Version=")


def test_a_fresh_page_passes_and_counts_as_a_read(oracle):
    oracle.record_write(PRODUCT, 2, t_ack=99.0, pages=["product:jade-vase"])
    assert judge(oracle, product_page("jade-vase"), 200) is None
    assert oracle.counts()["reads"] == 1 and oracle.counts()["checked"] == 1


def test_a_stale_page_fails_with_its_age(oracle):
    oracle.record_write(PRODUCT, 3, t_ack=99.99, pages=["product:jade-vase"])
    assert judge(oracle, product_page("jade-vase"), 200) == "STALE: page 5-20 ms behind an acknowledged write"
    assert oracle.counts()["stale"] == 1


@pytest.mark.django_db(transaction=True)
def test_the_site_answers_404_past_the_last_page_once_products_moved_away_and_page_1_always(client, oracle):
    tea, spices = make_category("tea"), make_category("spices")
    products = [make_product(tea, f"tea-{n:02d}") for n in range(PRODUCTS_PER_PAGE + 1)]
    last_page, first_page = category_page("tea", 2), category_page("tea", 1)
    assert client.get(last_page.url).status_code == 200  # the page the crawl found
    Product.objects.filter(pk=products[0].pk).update(category=spices)  # a writer's move
    answer = client.get(last_page.url)
    assert answer.status_code == 404
    assert judge(oracle, last_page, answer.status_code, answer.headers) is None
    Product.objects.filter(category=tea).update(category=spices)  # every product moved away
    answer = client.get(first_page.url, follow=True)
    assert answer.status_code == 200  # so a 404 of page 1 is always a failure
    assert judge(oracle, first_page, answer.status_code, answer.headers) is None
    assert oracle.counts()["gone:category"] == 1 and oracle.counts()["reads"] == 1


NAV = '<nav><a href="/accounts/profile/">Signed in as {}</a><form class="logout"></form></nav>'


@pytest.mark.parametrize(
    ("reader", "body", "passes"),
    [
        ("signed-in:shopper001", NAV.format("shopper001"), True),
        ("signed-in:shopper001", NAV.format("shopper002"), False),  # another visitor's nav
        ("signed-in:shopper001", '<nav><a href="/accounts/login/">Log in</a></nav>', False),  # signed out
        ("anonymous", '<nav><a href="/accounts/login/">Log in</a></nav>', True),
        ("anonymous", NAV.format("shopper002"), False),
    ],
)
def test_a_readers_nav_must_be_their_own(oracle, reader, body, passes):
    page = product_page("teapot")
    expected = oracle.expected(page.key)
    failure = judge_read(
        oracle, page, 200, PAGE_HEADERS, expected=expected, t_send=1.0, latency_ms=1, reader=reader, body=body
    )
    assert (failure is None) == passes, failure


def test_reads_are_counted_by_kind_of_reader(oracle):
    page = product_page("teapot")
    oracle.record_write(PRODUCT, 2, t_ack=0.5, pages=[page.key])  # a read is checked against a write
    for reader in ("anonymous", "signed-in:shopper001", "signed-in:shopper002"):
        expected = oracle.expected(page.key)
        judge_read(oracle, page, 200, PAGE_HEADERS, expected=expected, t_send=1.0, latency_ms=1, reader=reader)
    stuck = {"stuck": 0, "pages_checked": 0, "examples": []}
    summary = summarize("sync", oracle.results(), [], stuck, duration=1, locust_returncode=0)
    assert summary["stale_reads_by_reader"] == {
        "anonymous": {"checked": 1, "stale": 0},
        "signed-in": {"checked": 2, "stale": 0},
    }
