"""The write side of `make bench`: what cache_sync adds to writes, the relay's latency, fan-out cost.

"Without cache_sync" is the same site with no rules: no triggers in the database
and no statement hook (switched per round, outside the timed calls).
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from io import StringIO

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F
from django.test import RequestFactory
from django.test.utils import override_settings

from catalog import views
from catalog.models import Category, Product
from tools.harness.env import database_url

FAN_OUT_SIZES = (1_000, 10_000, 50_000)
LONE_SAVE = "lone save() with cache_sync vs without"
TEN_SAVES = "10 saves in one atomic() with cache_sync vs without"
UPDATE_1000 = "QuerySet.update() of 1,000 rows with vs without"
GOALS = {LONE_SAVE: 1.15, TEN_SAVES: 1.1, UPDATE_1000: 1.5}  # issue 17's, as ratios
RELAY_GIVE_UP = 10.0  # seconds


def install_triggers() -> None:
    call_command("cache_sync", "triggers", "install", stdout=StringIO())


@contextlib.contextmanager
def without_cache_sync():
    with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "RULES": {}}):
        install_triggers()  # no rules: every trigger is dropped
        yield
    install_triggers()


# The write-path designs measured side by side (issue 17). Both acknowledge delivered entries in Redis and
# leave the bulk delete to the relay. Before, the writer read its entries back after the commit, with their
# relations, in one statement (a database round trip inside its request); now its triggers tell it them (and
# the relations they follow, locked until its commit) in messages that come with each statement's answer.
# Measured before and not kept (README): three round trips (relations read apart), the writer deleting its
# own entries, and "a delivering writer does not NOTIFY".
DESIGNS = {
    "before: read back (1 DB round trip), Redis + acknowledgement": False,
    "told by the triggers (0), Redis + acknowledgement (kept)": True,
}
KEPT = list(DESIGNS)[-1]


@contextlib.contextmanager
def write_design(told: bool):
    """Run the writes of this process as one of DESIGNS (the kept one is cache_sync as it is)."""
    from cache_sync.capture.trigger_sql import OWN_ENTRIES
    from cache_sync.delivery import own_entries

    take, startup = own_entries.take, own_entries.with_startup_option
    session = connection.vendor == "postgresql" and connection.connection is not None
    if not told:
        own_entries.take = lambda using, labels: None
        own_entries.with_startup_option = lambda params: params  # connections made from now on
        if session:  # and this one: its triggers neither tell nor follow
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    try:
        yield
    finally:
        own_entries.take, own_entries.with_startup_option = take, startup
        if not told and session:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', false)", [OWN_ENTRIES])


def compare_designs(name: str, write: Callable[[], object], *, rounds: int, repeat: int) -> dict:
    """Each design against no cache_sync, in alternating rounds; medians of times and per-round ratios."""
    from benchmarks.run import timed

    times: dict[str, list[float]] = {design: [] for design in ["without", *DESIGNS]}
    for _ in range(rounds):
        with without_cache_sync():
            times["without"].append(timed(write, repeat))
        for design, acknowledged in DESIGNS.items():
            with write_design(acknowledged):
                times[design].append(timed(write, repeat))
    return {
        "name": name,
        "without_us": statistics.median(times["without"]) * 1e6,
        "designs": {
            design: {
                "us": statistics.median(times[design]) * 1e6,
                "ratio": statistics.median(t / b for t, b in zip(times[design], times["without"], strict=True)),
            }
            for design in DESIGNS
        },
    }


def format_designs(writes: dict) -> list[str]:
    lines = [
        "",
        "Write-path designs side by side (alternating rounds, each against no cache_sync; the kept design is "
        "the figures above):",
        "",
        "| write | design | with (µs) | without (µs) | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in writes["designs"]:
        for design, figures in row["designs"].items():
            us, without = figures["us"], row["without_us"]
            lines.append(f"| {row['name']} | {design} | {us:.0f} | {without:.0f} | {figures['ratio']:.2f}x |")
    return lines


def format_writes_extra(writes: dict) -> list[str]:
    """What the report's common part (scenarios.format_report) does not show: the designs side by side."""
    from benchmarks.concurrent_writes import format_concurrent_designs
    from benchmarks.own_notifications import format_table

    probe = writes["own_notifications"]
    probe_lines = format_table(probe, rounds=5, writes=500) if probe else []
    return [*format_designs(writes), *format_concurrent_designs(writes["concurrent"]), *probe_lines, ""]


def count_round_trips(write: Callable[[], object]) -> int:
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command
    sent = []

    def counting(self, command, check_health=True):
        sent.append(1)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        write()
    finally:
        AbstractConnection.send_packed_command = original
    return len(sent)


def make_category(slug: str, products: int) -> Category:
    category = Category.objects.create(name=slug.title(), slug=slug)
    for start in range(0, products, 5000):
        Product.objects.bulk_create(
            Product(name=f"{slug} {n}", slug=f"{slug}-{n}", price=1, category=category)
            for n in range(start, min(start + 5000, products))
        )
    return category


def run_writes(
    compare, *, rounds: int, repeat: int, bulk_rounds: int = 3, writers_seconds: float = 3.0, soak: float = 10.0
) -> dict:
    from benchmarks import bulk_writes, concurrent_writes, own_notifications
    from cache_sync.store import stats

    stats.FLUSH_EVERY = float("inf")  # the counters' own flush is not a write's round trip
    with without_cache_sync():
        hundred = make_category("bench-1000", 1000)
    product = Product.objects.filter(category=hundred).first()

    def save():
        product.price = Decimal("2.00")
        product.save()

    def ten_saves_in_a_transaction():
        with transaction.atomic():
            for _ in range(10):
                save()

    def update_thousand_rows():
        Product.objects.filter(category=hundred).update(price=F("price") + 1)

    pairs = [
        (LONE_SAVE, save, repeat),
        (TEN_SAVES, ten_saves_in_a_transaction, max(repeat // 10, 1)),
        (UPDATE_1000, update_thousand_rows, max(repeat // 50, 1)),
    ]
    with relay_running():  # as in production: it deletes what the writers acknowledged
        results = [
            compare(name, write, write, rounds=rounds, repeat=n, baseline_context=without_cache_sync)
            for name, write, n in pairs
        ]
        designs = [compare_designs(name, write, rounds=rounds, repeat=n) for name, write, n in pairs]
    round_trips = {
        "lone save()": count_round_trips(save),
        "10 saves in one atomic()": count_round_trips(ten_saves_in_a_transaction),
        "update() of 1,000 rows": count_round_trips(update_thousand_rows),
    }
    bulk = bulk_writes.run_bulk(without_cache_sync, rounds=bulk_rounds)
    concurrent = soaked = probe = None
    if connection.vendor == "postgresql":
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
        concurrent = concurrent_writes.run_concurrent(
            without_cache_sync, env, 0, rounds=bulk_rounds, seconds=writers_seconds, designs=DESIGNS
        )
        if soak:
            soaked = concurrent_writes.run_soak(env, 0, soak)
        probe = own_notifications.measure(env["DATABASE_URL"], rounds=5, writes=500)
    return {
        "results": results,
        "designs": designs,
        "round_trips": round_trips,
        "bulk": bulk,
        "concurrent": concurrent,
        "soak": soaked,
        "own_notifications": probe,
        "relay": relay_latency(product),
        "fan_out": fan_out(rounds=3),
    }


@contextlib.contextmanager
def relay_running():
    """A relay process beside this one's writes (stopped by its PID)."""
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "cache_sync", "relay"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        relay.stdout.readline()  # "Relaying ..."
        yield relay
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(10)


def relay_latency(product: Product, samples: int = 60) -> dict:
    """A write through a connection of its own, which Django never sees (so only the relay delivers it),
    as a writer killed after its COMMIT leaves it: time from its commit until a reader misses."""
    with relay_running():
        return _relay_latency(product, samples)


def _relay_latency(product: Product, samples: int) -> dict:
    outsider = connection.get_new_connection(connection.get_connection_params())
    placeholder = "%s" if connection.vendor == "postgresql" else "?"
    update = f"UPDATE catalog_product SET price = {placeholder} WHERE id = {placeholder}"
    latencies = []
    try:
        for n in range(samples):
            views.product_detail(_request(product.slug), slug=product.slug)  # cached
            cursor = outsider.cursor()
            cursor.execute(update, [n, product.pk])
            outsider.commit()
            committed = time.perf_counter()
            while views.product_detail(_request(product.slug), slug=product.slug)["X-Cache"] == "hit":
                if time.perf_counter() - committed > RELAY_GIVE_UP:
                    raise RuntimeError(f"the relay delivered nothing within {RELAY_GIVE_UP} s")
            latencies.append((time.perf_counter() - committed) * 1000)
    finally:
        outsider.close()
    latencies.sort()
    return {
        "samples": samples,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))],
        "max_ms": latencies[-1],
    }


def _request(slug: str):
    request = RequestFactory().get(f"/products/{slug}/")
    request.user = AnonymousUser()
    return request


def fan_out(rounds: int) -> list[dict]:
    """Rename a category of N products: the request's save() and its delivery of N product keys."""
    rows = []
    for size in FAN_OUT_SIZES:
        with without_cache_sync():
            category = make_category(f"bench-fan-{size}", size)
        timings = []
        for n in range(rounds):
            category.name = f"Renamed {n}"
            start = time.perf_counter()
            category.save()
            timings.append(time.perf_counter() - start)
        baseline = []
        with without_cache_sync():
            for n in range(rounds):
                category.name = f"Plain {n}"
                start = time.perf_counter()
                category.save()
                baseline.append(time.perf_counter() - start)
        rename = statistics.median(timings)
        rows.append(
            {
                "products": size,
                "rename_ms": rename * 1000,
                "without_ms": statistics.median(baseline) * 1000,
                "per_key_us": rename / size * 1e6,
            }
        )
    return rows
