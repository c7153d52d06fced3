"""Readers and writers at once; a stale read is a failure of its request ("STALE: page 5-20 ms behind ...").

    make loadtest-ui     # a site, database and Redis of its own, and this file in Locust's web UI
    make loadtest        # headless, the three cache modes side by side (loadtests/run.py)

Its writers rewrite the data of the site they run against: point it at a test site, never the dev one.

Readers fetch from the oracle (loadtests/oracle.py) the newest acknowledged
version of every object the page may show, note `t_send`, then read the page
and compare its `X-Data-Version` header object by object. Writers change rows
through the staff API and record the version the database assigned once the
response has arrived. Environment: STAFF_API_TOKEN, REDIS_URL (+
LOADTEST_ORACLE_DB, default 13) or LOADTEST_ORACLE_URL, LOADTEST_WRITER_SHARE
(default 0.2), LOADTEST_PROFILES or LOADTEST_USERNAMES, LOADTEST_SESSIONS
("username=session cookie,..."; the signed-in readers', made by loadtests/run.py) and
LOADTEST_SIGNED_IN_SHARE (of the readers, default 0.3 when sessions are given).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from decimal import Decimal
from http.cookiejar import Cookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from locust import FastHttpUser, between, events, task
from locust.runners import MasterRunner, WorkerRunner

# Locust imports this file by path; make `loadtests` importable whatever the launcher.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests.oracle import Oracle, oracle_url_from_env
from loadtests.reading import judge_read
from loadtests.site_pages import (
    Page,
    SiteMap,
    category_page,
    crawl,
    home_page,
    product_page,
    profile_page,
)
from loadtests.web_ui import show_staleness_in_web_ui

WRITER_SHARE = float(os.environ.get("LOADTEST_WRITER_SHARE", "0.2"))
SESSIONS = [tuple(item.split("=", 1)) for item in os.environ.get("LOADTEST_SESSIONS", "").split(",") if "=" in item]
SIGNED_IN_SHARE = float(os.environ.get("LOADTEST_SIGNED_IN_SHARE", "0.3")) if SESSIONS else 0.0
# Seconds between a reader's reads, "min,max" (the soak reads with shorter waits).
READER_WAIT = tuple(float(part) for part in os.environ.get("LOADTEST_READER_WAIT", "0.02,0.1").split(","))
HOT_READS = 0.8  # share of reads on the hot set
HOT_WRITES = 0.9
ADJECTIVES = ["Amber", "Cedar", "Golden", "Indigo", "Jade", "Onyx", "Pearl", "Saffron", "Silver"]
NOUNS = ["Bowl", "Carpet", "Kettle", "Lamp", "Lantern", "Rug", "Shawl", "Teapot", "Vase"]

_oracle: Oracle | None = None
_site: SiteMap | None = None
_site_lock = threading.Lock()  # gevent-patched: one crawl per process


def oracle() -> Oracle:
    global _oracle
    if _oracle is None:
        _oracle = Oracle.from_url(oracle_url_from_env())
    return _oracle


def site_map(host: str) -> SiteMap:
    """The crawled map, shared by all Locust processes through the oracle."""
    global _site
    with _site_lock:
        if _site is None:
            stored = oracle().get_json("sitemap")
            if stored is None:
                found = crawl(host)
                if oracle().put_json("sitemap", found.to_json(), only_if_absent=True):
                    oracle().set_categories(found.category_of)
                stored = oracle().get_json("sitemap")
            _site = SiteMap.from_json(stored)
    return _site


@events.init.add_listener
def on_init(environment, **kwargs) -> None:
    if environment.web_ui is not None:
        show_staleness_in_web_ui(environment.web_ui, oracle)


@events.test_start.add_listener
def on_test_start(environment, **kwargs) -> None:
    global _site
    if not isinstance(environment.runner, WorkerRunner):
        oracle().reset()  # the master (or the only process) starts a clean oracle
    _site = None  # crawled again (once, by the first process) into the clean oracle
    if not isinstance(environment.runner, MasterRunner):
        site_map(environment.host)


def _pick(rng: random.Random, hot: list[str], everything: list[str], hot_share: float) -> str:
    return rng.choice(hot if hot and rng.random() < hot_share else everything)


class ReaderUser(FastHttpUser):
    """Browses, mostly on a small hot set, and checks every page against the oracle."""

    weight = max(1, round(100 * (1 - WRITER_SHARE) * (1 - SIGNED_IN_SHARE)))
    wait_time = between(*READER_WAIT)
    reader = "anonymous"

    def on_start(self) -> None:
        self.site = site_map(self.host)
        self.rng = random.Random()

    @task(5)
    def product(self) -> None:
        self.read(product_page(_pick(self.rng, self.site.hot_products, self.site.products, HOT_READS)))

    @task(3)
    def category(self) -> None:
        slug = _pick(self.rng, self.site.hot_categories, self.site.category_slugs, HOT_READS)
        hot_first_page = slug in self.site.hot_categories and self.rng.random() < 0.7
        number = 1 if hot_first_page else self.rng.randint(1, self.site.page_count(slug))
        self.read(category_page(slug, number))

    @task(1)
    def home(self) -> None:
        self.read(home_page())

    @task(2)
    def profile(self) -> None:
        self.read(profile_page(_pick(self.rng, self.site.hot_users, self.site.usernames, HOT_READS)))

    def read(self, page: Page) -> None:
        expected = oracle().expected(page.key)  # before sending: only acknowledged writes count
        t_send = time.time()
        with self.client.get(page.url, name=page.name, catch_response=True) as resp:
            latency_ms = (time.time() - t_send) * 1000
            failure = judge_read(
                oracle(),
                page,
                resp.status_code,
                resp.headers,
                expected=expected,
                t_send=t_send,
                latency_ms=latency_ms,
                reader=self.reader,
                body=resp.text or "",
            )
            if failure:
                resp.failure(failure)
            else:
                resp.success()  # a category page gone (404) included: see loadtests/reading.py


def session_cookie(host: str, value: str) -> Cookie:
    return Cookie(0, "sessionid", value, None, False, host, False, False, "/", True, False, None, True, None, None, {})


class SignedInReaderUser(ReaderUser):
    """A reader signed in with a session of its own: the same pages, its nav checked to be its own."""

    abstract = not SESSIONS  # no sessions given: no signed-in readers
    weight = max(1, round(100 * (1 - WRITER_SHARE) * SIGNED_IN_SHARE))

    def on_start(self) -> None:
        super().on_start()
        username, cookie = self.rng.choice(SESSIONS)
        self.reader = f"signed-in:{username}"
        # In the client's jar, as a browser keeps it: sent on a redirect's request too (?page=1).
        self.client.cookiejar.set_cookie(session_cookie(urlsplit(self.host).hostname or "", cookie))


class WriterUser(FastHttpUser):
    """Changes prices, names, categories and profiles through the staff API."""

    weight = max(1, round(100 * WRITER_SHARE))
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.site = site_map(self.host)
        self.rng = random.Random()
        self.auth = {
            "Authorization": f"Bearer {os.environ.get('STAFF_API_TOKEN', '')}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def _product(self) -> str:
        return _pick(self.rng, self.site.hot_products, self.site.products, HOT_WRITES)

    @task(5)
    def change_price(self) -> None:
        price = Decimal(self.rng.randrange(100, 100000)) / 100
        self.write_product(self._product(), {"price": str(price)}, "price")

    @task(2)
    def rename(self) -> None:
        name = f"{self.rng.choice(ADJECTIVES)} {self.rng.choice(NOUNS)} {self.rng.randrange(1000)}"
        self.write_product(self._product(), {"name": name}, "name")

    @task(1)
    def move(self) -> None:
        slug = self._product()
        old = oracle().category_of(slug) or self.site.category_of.get(slug)
        choices = [c for c in self.site.hot_categories if c != old] or self.site.category_slugs
        self.write_product(slug, {"category": self.rng.choice(choices)}, "category")

    @task(2)
    def update_price(self) -> None:
        """`QuerySet.update()` on the server: a path without model signals."""
        slug = self._product()
        price = Decimal(self.rng.randrange(100, 100000)) / 100
        acked = self.post(f"/staff/products/{slug}/price/", {"price": str(price)}, "POST /staff/products/[slug]/price/")
        if acked:
            pk, version, t_ack = acked
            self.record_product_write(slug, pk, version, t_ack)

    @task(1)
    def bulk_update_prices(self) -> None:
        """`bulk_update()` of three products in one transaction."""
        slugs = sorted({self._product() for _ in range(3)})
        price = Decimal(self.rng.randrange(100, 100000)) / 100
        fields = {"price": str(price), "slugs": ",".join(slugs)}
        with self.client.post(
            "/staff/prices/", data=urlencode(fields), headers=self.auth, name="POST /staff/prices/", catch_response=True
        ) as resp:
            t_ack = time.time()
            if resp.status_code == 503:
                oracle().record_unavailable("write", t_ack)
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {resp.text[:200]}")
                return
            rows = resp.json()["rows"]
        for row in rows:
            self.record_product_write(row["slug"], int(row["pk"]), int(row["version"]), t_ack)

    @task(2)
    def edit_profile(self) -> None:
        name = _pick(self.rng, self.site.hot_users, self.site.usernames, HOT_WRITES)
        fields = {"display_name": f"{self.rng.choice(ADJECTIVES)} {name}", "bio": f"Bio {self.rng.random()}"}
        acked = self.post(f"/staff/users/{name}/", fields, "POST /staff/users/[username]/")
        if acked:
            pk, version, t_ack = acked
            oracle().record_write(f"accounts.user:{pk}", version, t_ack, [profile_page(name).key])

    def write_product(self, slug: str, fields: dict[str, str], what: str) -> None:
        old = oracle().category_of(slug) or self.site.category_of.get(slug)
        acked = self.post(f"/staff/products/{slug}/", fields, f"POST /staff/products/[slug]/ {what}")
        if not acked:
            return
        pk, version, t_ack = acked
        self.record_product_write(slug, pk, version, t_ack, old=old, new_category=fields.get("category"))

    def record_product_write(self, slug, pk, version, t_ack, *, old=None, new_category=None) -> None:
        old = old or oracle().category_of(slug) or self.site.category_of.get(slug)
        # The product shows on its page, on its category's pages (old and new) and maybe on home.
        pages = [product_page(slug).key, home_page().key]
        pages += [category_page(c).key for c in {old, new_category} if c]
        moved = (slug, new_category) if new_category else None
        oracle().record_write(f"catalog.product:{pk}", version, t_ack, pages, moved)

    def post(self, path: str, fields: dict[str, str], name: str) -> tuple[int, int, float] | None:
        with self.client.post(path, data=urlencode(fields), headers=self.auth, name=name, catch_response=True) as resp:
            t_ack = time.time()  # the write has committed: its response arrived
            if resp.status_code == 503:
                oracle().record_unavailable("write", t_ack)  # the database restarting (a fault run)
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {resp.text[:200]}")
                return None
            try:
                data = resp.json()
                return int(data["pk"]), int(data["version"]), t_ack
            except (ValueError, KeyError, TypeError) as error:
                resp.failure(f"unexpected answer {resp.text[:200]!r}: {error}")
                return None
