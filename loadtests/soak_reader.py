"""A soak reader: one process, one read at a time, checked in memory against the writers' acknowledgements.

Its pages and their mix are the load test's readers' (locustfile.py's `ReaderUser`:
products 5, categories 3, home 1, profiles 2, 80 % of them on the hot set), without
a wait between reads. Per read: drain the acknowledgement pipe, note `t_send`, GET,
check the `X-Data-Version` header against the `AckBook` (soak_oracle.py), count.
Several processes read at once; each sends its `Tally` back when told to stop.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from loadtests.reading import page_gone
from loadtests.site_pages import Page, SiteMap, category_page, home_page, product_page, profile_page
from loadtests.soak_cpu import own_cpu_s
from loadtests.soak_http import Answer, Client
from loadtests.soak_oracle import AckBook, ReadCheck, drain
from loadtests.staleness import latency_bucket, stale_failure_message
from silk_core.data_version import parse_data_version

HOT_READS = 0.8  # as locustfile.py's readers
STALE_EXAMPLES = 10


def _pick(rng: random.Random, hot: list[str], everything: list[str]) -> str:
    return rng.choice(hot if hot and rng.random() < HOT_READS else everything)


def pick_page(site: SiteMap, rng: random.Random) -> Page:
    """One read of the load test's mix (its task weights 5, 3, 1, 2)."""
    kind = rng.choices(("product", "category", "home", "profile"), weights=(5, 3, 1, 2))[0]
    if kind == "product":
        return product_page(_pick(rng, site.hot_products, site.products))
    if kind == "category":
        slug = _pick(rng, site.hot_categories, site.category_slugs)
        hot_first_page = slug in site.hot_categories and rng.random() < 0.7
        return category_page(slug, 1 if hot_first_page else rng.randint(1, site.page_count(slug)))
    if kind == "home":
        return home_page()
    return profile_page(_pick(rng, site.hot_users, site.usernames))


@dataclass
class Tally:
    """What a reader saw; tallies of several readers add up (`merge`)."""

    reads: int = 0
    checked: int = 0
    stale: int = 0
    gone: int = 0
    failures: Counter = field(default_factory=Counter)  # message -> count (stale reads included, as in Locust)
    cache: Counter = field(default_factory=Counter)  # hit / miss
    latency_ms: Counter = field(default_factory=Counter)  # Locust's buckets
    age_ms: Counter = field(default_factory=Counter)  # stale reads' age, same buckets
    windows_ms: dict[str, float] = field(default_factory=dict)  # "obj=version" -> its staleness window
    reads_per_second: Counter = field(default_factory=Counter)
    stale_examples: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # the reader processes' own CPU time

    def merge(self, other: Tally) -> None:
        for name in ("reads", "checked", "stale", "gone", "cpu_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("failures", "cache", "latency_ms", "age_ms", "reads_per_second"):
            getattr(self, name).update(getattr(other, name))
        for write, window in other.windows_ms.items():
            self.windows_ms[write] = max(window, self.windows_ms.get(write, 0.0))
        self.stale_examples = (self.stale_examples + other.stale_examples)[:STALE_EXAMPLES]

    def count(self, page: Page, answer: Answer, check: ReadCheck | None, t_wall: float, latency_ms: float) -> None:
        """A read's answer: a page gone, a failure, or a checked (maybe stale) read."""
        if page_gone(page, answer.status):
            self.gone += 1
            return
        if check is None:
            self.failures[failure_message(answer)] += 1
            return
        self.reads += 1
        self.cache[answer.headers["x-cache"]] += 1
        self.latency_ms[latency_bucket(latency_ms)] += 1
        self.reads_per_second[int(t_wall)] += 1
        if check.checked:
            self.checked += 1
        if check.stale:
            self.stale += 1
            self.age_ms[latency_bucket(check.age_ms)] += 1
            self.failures[stale_failure_message(check.age_ms)] += 1
            for write, window in check.windows:
                self.windows_ms[write] = max(window, self.windows_ms.get(write, 0.0))
            if len(self.stale_examples) < STALE_EXAMPLES:
                lag = max(check.lags, key=lambda item: item.versions_behind)
                when = time.strftime("%H:%M:%S", time.gmtime(t_wall))
                self.stale_examples.append(f"{when} UTC {page.url}: {lag.obj} v{lag.seen} < v{lag.v_min}")


def url_of(page: Page) -> str:
    """The page's own URL: a category's first page is `/categories/<slug>/` (its `?page=1` redirects there,
    which the load test's Locust client follows at the cost of a second request)."""
    return page.url.removesuffix("?page=1")


def readable(answer: Answer) -> bool:
    return (
        answer.status == 200
        and answer.complete
        and "x-data-version" in answer.headers
        and answer.headers.get("x-cache") in ("hit", "miss")
    )


def failure_message(answer: Answer) -> str:
    if answer.status != 200:
        return f"HTTP {answer.status}"
    if not answer.complete:
        return "a body shorter than its Content-Length"
    return f"X-Data-Version={answer.headers.get('x-data-version')!r}, X-Cache={answer.headers.get('x-cache')!r}"


def read_next(client, site: SiteMap, rng: random.Random, feed_end: int, pending: bytes, book: AckBook, tally: Tally,
              *, pick=pick_page) -> bytes:  # fmt: skip
    """Drain the acknowledgements, then read: the book holds what was acknowledged before `t_send`, and
    nothing is added to it between sending and checking. Returns a partial message's bytes, for the next."""
    acks, pending = drain(feed_end, pending)
    book.add_all(acks)
    read_one(client, pick(site, rng), book, tally)
    return pending


def read_one(client: Client, page: Page, book: AckBook, tally: Tally) -> None:
    t_send = time.monotonic()
    try:
        answer = client.get(url_of(page))
    except OSError as error:
        tally.failures[f"{type(error).__name__}: {error}"] += 1
        return
    latency_ms = (time.monotonic() - t_send) * 1000
    check = book.check(parse_data_version(answer.headers["x-data-version"]), t_send) if readable(answer) else None
    tally.count(page, answer, check, time.time(), latency_ms)


def read_pages(index: int, host: str, port: int, site_json: str, feed_end: int, stop, progress, results) -> None:
    """A reader process: reads until `stop` is set (reads, checked, stale in `progress[3 * index:]`); then its tally."""
    site = SiteMap.from_json(site_json)
    client, book, tally = Client(host, port), AckBook(), Tally()
    rng = random.Random(index)
    pending = b""
    while not stop.is_set():
        for _ in range(50):  # `stop` is a lock round trip: looked at every 50 reads
            pending = read_next(client, site, rng, feed_end, pending, book, tally)
        progress[3 * index : 3 * index + 3] = [tally.reads, tally.checked, tally.stale]
    tally.cpu_s = own_cpu_s()
    results.send(tally)
    results.close()
