"""The soak's writers: the load test's writer mix (locustfile.py's `WriterUser`), as threads of the runner.

The same staff API calls with the same weights and waits: a price through the
form (5), a rename (2), a move to another hot category (1), a price through
`QuerySet.update()` (2), three prices through `bulk_update()` (1), a profile
(2), 90 % of them on the hot set, 0.1-0.5 s apart. Each acknowledged version is
published to the readers (`AckFeed`) with `t_ack`, the moment its response
arrived: the write has committed by then.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from decimal import Decimal
from urllib.parse import urlencode

from loadtests.site_pages import SiteMap
from loadtests.soak_oracle import AckFeed

HOT_WRITES = 0.9
WAIT_S = (0.1, 0.5)
ADJECTIVES = ["Amber", "Cedar", "Golden", "Indigo", "Jade", "Onyx", "Pearl", "Saffron", "Silver"]
NOUNS = ["Bowl", "Carpet", "Kettle", "Lamp", "Lantern", "Rug", "Shawl", "Teapot", "Vase"]
TASKS = {"price": 5, "rename": 2, "move": 1, "update_price": 2, "bulk_update_prices": 1, "profile": 2}


class Writers:
    """`count` writer threads, from `start()` until `stop()`; `writes` and `failures` count what they did."""

    def __init__(self, count: int, host: str, port: int, token: str, site: SiteMap, feed: AckFeed) -> None:
        self.address, self.site, self.feed = (host, port), site, feed
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"}
        self.category_of = dict(site.category_of)  # moves update it; shared by the threads (one dict op at a time)
        self.writes = 0
        self.failures: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(n,), daemon=True) for n in range(count)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _write(self, n: int) -> None:
        rng = random.Random(1000 + n)
        names, weights = list(TASKS), list(TASKS.values())
        while not self._stop.wait(rng.uniform(*WAIT_S)):
            task = rng.choices(names, weights)[0]
            try:
                getattr(self, task)(rng)
            except (OSError, http.client.HTTPException) as error:
                self._failed(f"{task}: {type(error).__name__}: {error}")

    def _hot(self, rng: random.Random, hot: list[str], everything: list[str]) -> str:
        return rng.choice(hot if hot and rng.random() < HOT_WRITES else everything)

    def _product(self, rng: random.Random) -> str:
        return self._hot(rng, self.site.hot_products, self.site.products)

    @staticmethod
    def _price(rng: random.Random) -> str:
        return str(Decimal(rng.randrange(100, 100000)) / 100)

    def price(self, rng: random.Random) -> None:
        self._product_write(self._product(rng), {"price": self._price(rng)})

    def rename(self, rng: random.Random) -> None:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.randrange(1000)}"
        self._product_write(self._product(rng), {"name": name})

    def move(self, rng: random.Random) -> None:
        slug = self._product(rng)
        choices = [c for c in self.site.hot_categories if c != self.category_of.get(slug)]
        category = rng.choice(choices or self.site.category_slugs)
        if self._product_write(slug, {"category": category}):
            self.category_of[slug] = category

    def update_price(self, rng: random.Random) -> None:
        slug = self._product(rng)
        self._acknowledge("catalog.product", self._post(f"/staff/products/{slug}/price/", {"price": self._price(rng)}))

    def bulk_update_prices(self, rng: random.Random) -> None:
        slugs = sorted({self._product(rng) for _ in range(3)})
        answer = self._post("/staff/prices/", {"price": self._price(rng), "slugs": ",".join(slugs)})
        if answer:
            data, t_ack = answer
            for row in data["rows"]:
                self._acknowledge("catalog.product", (row, t_ack))

    def profile(self, rng: random.Random) -> None:
        name = self._hot(rng, self.site.hot_users, self.site.usernames)
        fields = {"display_name": f"{rng.choice(ADJECTIVES)} {name}", "bio": f"Bio {rng.random()}"}
        self._acknowledge("accounts.user", self._post(f"/staff/users/{name}/", fields))

    def _product_write(self, slug: str, fields: dict[str, str]) -> bool:
        return self._acknowledge("catalog.product", self._post(f"/staff/products/{slug}/", fields))

    def _acknowledge(self, model: str, answer: tuple[dict, float] | None) -> bool:
        if answer is None:
            return False
        data, t_ack = answer
        self.feed.publish(f"{model}:{int(data['pk'])}", int(data["version"]), t_ack)
        with self._lock:
            self.writes += 1
        return True

    def _post(self, path: str, fields: dict[str, str]) -> tuple[dict, float] | None:
        """The answer's JSON and `t_ack` (time.monotonic() when it arrived), or None (counted as a failure)."""
        connection = http.client.HTTPConnection(*self.address, timeout=30)
        try:
            connection.request("POST", path, body=urlencode(fields), headers=self.headers)
            response = connection.getresponse()
            body = response.read()
            t_ack = time.monotonic()  # the write has committed: its response arrived
        finally:
            connection.close()
        if response.status != 200:
            self._failed(f"POST {path.split('/')[2]}: HTTP {response.status}")
            return None
        return json.loads(body), t_ack

    def _failed(self, message: str) -> None:
        with self._lock:
            self.failures[message] += 1
