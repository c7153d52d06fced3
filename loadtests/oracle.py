"""The oracle of the load test: what writers acknowledged, kept in a Redis database of its own.

Every Locust process (local, master, workers) talks to the same Redis database,
so the oracle works in distributed mode. Layout (all keys under `lt:`):

- `lt:vmin` sorted set, object -> newest acknowledged version (`ZADD GT`);
- `lt:last` sorted set, object -> newest acknowledgement time (seconds since epoch);
- `lt:h:<object>` sorted set, version -> "version:t_ack", the last few writes;
- `lt:cand:<page key>` set of objects that page may show (learned from writers
  and from earlier responses), so that a reader fetches every `v_min` it needs
  in one round trip *before* sending its request;
- counters and histograms that the runner turns into the report.

A read is stale when an object on the page shows a version below the `v_min`
fetched before the request was sent: that version was acknowledged, hence
committed, before the read started. Writes not yet acknowledged are not in the
oracle, so a read that overlaps them can never count as stale.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import redis

from loadtests.staleness import (
    Expected,
    ReadOutcome,
    find_lags,
    first_newer_ack,
    fresh_bucket,
    latency_bucket,
)
from silk_core.data_version import parse_data_version

PREFIX = "lt"
HISTORY_LENGTH = 64
DEFAULT_ORACLE_DB = 13


def oracle_url(redis_url: str, db: int) -> str:
    """The URL of database `db` on the server of `redis_url`."""
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def oracle_url_from_env() -> str:
    if url := os.environ.get("LOADTEST_ORACLE_URL"):
        return url
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    db = int(os.environ.get("LOADTEST_ORACLE_DB", DEFAULT_ORACLE_DB))
    cache_db = urlsplit(redis_url).path.strip("/") or "0"
    if str(db) == cache_db:
        raise SystemExit(f"LOADTEST_ORACLE_DB={db} is the cache's database: the oracle flushes it.")
    return oracle_url(redis_url, db)


def _key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


class Oracle:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> Oracle:
        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2))

    def reset(self) -> None:
        self.client.flushdb()

    # -- writers ---------------------------------------------------------------------------

    def record_write(
        self, obj: str, version: int, t_ack: float, pages: Iterable[str], moved_to: tuple[str, str] | None = None
    ) -> None:
        """Called after the write's response arrived: the version is committed."""
        pipe = self.client.pipeline(transaction=True)
        pipe.zadd(_key("vmin"), {obj: version}, gt=True)
        pipe.zadd(_key("last"), {obj: t_ack}, gt=True)
        pipe.zadd(_key("h", obj), {f"{version}:{t_ack:.6f}": version})
        pipe.zremrangebyrank(_key("h", obj), 0, -HISTORY_LENGTH - 1)
        for page in pages:
            pipe.sadd(_key("cand", page), obj)
        if moved_to:
            pipe.hset(_key("category_of"), moved_to[0], moved_to[1])
        pipe.hincrby(_key("n"), "writes", 1)
        pipe.execute()

    def category_of(self, product_slug: str) -> str | None:
        value = self.client.hget(_key("category_of"), product_slug)
        return value.decode() if value else None

    def set_categories(self, mapping: dict[str, str]) -> None:
        if mapping:
            self.client.hset(_key("category_of"), mapping=mapping)

    # -- readers ---------------------------------------------------------------------------

    def expected(self, page: str) -> Expected:
        """v_min and last acknowledgement of every object `page` may show; fetch before sending."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zinter({_key("cand", page): 0, _key("vmin"): 1}, withscores=True)
        pipe.zinter({_key("cand", page): 0, _key("last"): 1}, withscores=True)
        versions, acks = pipe.execute()
        return Expected(
            v_min={obj.decode(): int(v) for obj, v in versions},
            last_ack={obj.decode(): t for obj, t in acks},
        )

    def check_read(self, header: str, expected: Expected, t_send: float) -> ReadOutcome:
        """Compare a page's versions with what was acknowledged before it was requested."""
        shown = parse_data_version(header)
        lags = find_lags(shown, expected.v_min)
        checked = sum(1 for obj in shown if obj in expected.v_min)
        if not lags:
            return ReadOutcome(checked)
        pipe = self.client.pipeline(transaction=False)
        for lag in lags:
            pipe.zrangebyscore(_key("h", lag.obj), f"({lag.seen}", lag.v_min)
        histories = [[_parse_history(entry) for entry in entries] for entries in pipe.execute()]
        ages = []
        windows = {}
        for lag, history in zip(lags, histories, strict=True):
            t_ack = first_newer_ack(history, lag, t_send)
            if t_ack is not None:
                ages.append((t_send - t_ack) * 1000)
            for version, t in history:
                if lag.seen < version <= lag.v_min and t <= t_send:
                    windows[f"{lag.obj}={version}"] = (t_send - t) * 1000
        if windows:
            self.client.zadd(_key("win"), windows, gt=True)
        return ReadOutcome(checked, tuple(lags), max(ages, default=0.0))

    def record_read(
        self,
        *,
        page: str,
        kind: str,
        header: str,
        cache_status: str,
        expected: Expected,
        t_send: float,
        latency_ms: float,
        reader: str = "anonymous",
    ) -> ReadOutcome:
        """Check a read and count it (by page kind and by kind of reader: anonymous or signed-in);
        the caller fires the STALE event."""
        outcome = self.check_read(header, expected, t_send)
        shown = parse_data_version(header)
        second = str(int(t_send))
        pipe = self.client.pipeline(transaction=False)
        counts = pipe.hincrby
        counts(_key("n"), "reads", 1)
        counts(_key("n"), f"reads:{kind}", 1)
        counts(_key("n"), f"cache:{cache_status}", 1)
        counts(_key("n"), f"cache:{cache_status}:{kind}", 1)
        counts(_key("lat"), str(latency_bucket(latency_ms)), 1)
        counts(_key("ts", "reads"), second, 1)
        counts(_key("ts10", "reads"), str(int(t_send * 10)), 1)  # tenths of a second: reads per fault window
        if outcome.checked:
            counts(_key("n"), "checked", 1)
            counts(_key("n"), f"checked:{kind}", 1)
            counts(_key("n"), f"checked:reader:{reader}", 1)
        if outcome.stale:
            counts(_key("n"), "stale", 1)
            counts(_key("n"), f"stale:{kind}", 1)
            counts(_key("n"), f"stale:reader:{reader}", 1)
            counts(_key("ts", "stale"), second, 1)
            counts(_key("age"), str(latency_bucket(outcome.age_ms)), 1)
            # Each stale read's own t_send, so a fault run attributes it to its window.
            pipe.zadd(_key("stale_at"), {f"{page}@{t_send:.6f}": t_send})
        lagging = {lag.obj for lag in outcome.lags}
        for obj, t_ack in expected.last_ack.items():
            if obj in shown:
                bucket = fresh_bucket((t_send - t_ack) * 1000)
                counts(_key("fresh"), f"{bucket}:total", 1)
                if obj not in lagging:
                    counts(_key("fresh"), f"{bucket}:fresh", 1)
        if shown:
            pipe.sadd(_key("cand", page), *shown)
        pipe.execute()
        return outcome

    def record_unavailable(self, kind: str, t_answer: float) -> None:
        """A 503 (the database briefly unavailable): neither a read nor a write, counted by when it arrived."""
        self.client.zadd(_key("unavailable"), {f"{kind}@{t_answer:.6f}": t_answer})

    def fault_evidence(self) -> dict:
        """What a fault run attributes to windows: stale reads and reads per 0.1 s (t_send), 503s (answered)."""
        return {
            "stale_at": [t for _m, t in self.client.zrange(_key("stale_at"), 0, -1, withscores=True)],
            "unavailable_at": [t for _m, t in self.client.zrange(_key("unavailable"), 0, -1, withscores=True)],
            "reads_per_tenth": {int(k) / 10: int(v) for k, v in self.client.hgetall(_key("ts10", "reads")).items()},
        }

    def record_page_gone(self, kind: str) -> None:
        """A page the site map holds that no longer exists (a category page past the last one)."""
        self.client.hincrby(_key("n"), f"gone:{kind}", 1)

    # -- the runner ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.client.hgetall(_key("n")).items()}

    def pages_with_writes(self) -> list[str]:
        pages = []
        for key in self.client.scan_iter(match=_key("cand", "*"), count=1000):
            page = key.decode().split(":", 2)[2]
            if self.expected(page).v_min:
                pages.append(page)
        return sorted(pages)

    def results(self) -> dict:
        """Everything the report needs, as plain JSON-able data."""

        def int_hash(name: str) -> dict[str, int]:
            return {k.decode(): int(v) for k, v in self.client.hgetall(name).items()}

        return {
            "counts": self.counts(),
            "latency_ms": {int(float(k)): v for k, v in int_hash(_key("lat")).items()},
            "age_ms": {int(float(k)): v for k, v in int_hash(_key("age")).items()},
            "reads_per_second": {int(k): v for k, v in int_hash(_key("ts", "reads")).items()},
            "stale_per_second": {int(k): v for k, v in int_hash(_key("ts", "stale")).items()},
            "fresh": int_hash(_key("fresh")),
            "windows_ms": [score for _member, score in self.client.zrange(_key("win"), 0, -1, withscores=True)],
        }

    def put_json(self, name: str, value: str, *, only_if_absent: bool = False) -> bool:
        return bool(self.client.set(_key(name), value, nx=only_if_absent))

    def get_json(self, name: str) -> str | None:
        value = self.client.get(_key(name))
        return value.decode() if value else None


def _parse_history(entry: bytes) -> tuple[int, float]:
    version, _, t_ack = entry.decode().partition(":")
    return int(version), float(t_ack)
