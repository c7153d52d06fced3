"""What `make bench` measures: pages (hit, miss, floor) and saves (with and without cache_sync)."""

from __future__ import annotations

import contextlib
import platform
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from cache_sync.receivers import connect_receivers, disconnect_receivers
from catalog import views
from catalog.models import Category, Product


def _request():
    request = RequestFactory().get("/products/bench-teapot/")
    request.user = AnonymousUser()
    return request


def one_redis_get_view(request):
    """The floor: a bare Django view that does one Redis GET."""
    return HttpResponse(cache.get("bench:floor") or b"")


@contextlib.contextmanager
def receivers_disconnected():
    disconnect_receivers()
    try:
        yield
    finally:
        connect_receivers()


def run_all(compare, *, rounds: int, repeat: int):
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(name="Bench Teapot", slug="bench-teapot", price=1, category=category)
    for n in range(19):
        Product.objects.create(name=f"Bench Cup {n}", slug=f"bench-cup-{n}", price=1, category=category)
    cache.set("bench:floor", b"x" * 3000)
    views.product_detail(_request(), slug="bench-teapot")  # fill

    def cached_page():
        views.product_detail(_request(), slug="bench-teapot")

    def uncached_page():
        views.product_detail.__wrapped__(_request(), slug="bench-teapot")

    def floor():
        one_redis_get_view(_request())

    def save():
        product.price = Decimal("2.00")
        product.save()

    def ten_saves_in_a_transaction():
        with transaction.atomic():
            for _ in range(10):
                save()

    results = [
        compare("cached page vs uncached page (latency)", cached_page, uncached_page, rounds=rounds, repeat=repeat),
        compare("cached page vs one-GET view (the floor)", cached_page, floor, rounds=rounds, repeat=repeat),
        compare(
            "save with cache_sync vs without",
            save,
            save,
            rounds=rounds,
            repeat=repeat // 2,
            baseline_context=receivers_disconnected,
        ),
        compare(
            "10 saves in one atomic() with cache_sync vs without",
            ten_saves_in_a_transaction,
            ten_saves_in_a_transaction,
            rounds=rounds,
            repeat=max(repeat // 20, 1),
            baseline_context=receivers_disconnected,
        ),
    ]
    return results, _round_trips_per_save(save)


def _round_trips_per_save(save, saves: int = 50) -> float:
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command
    sent = []

    def counting(self, command, check_health=True):
        sent.append(1)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        for _ in range(saves):
            save()
    finally:
        AbstractConnection.send_packed_command = original
    return len(sent) / saves


def clean_up() -> None:
    client = cache.client.get_client()
    prefix = cache.key_prefix
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def format_report(results, round_trips: float, args) -> str:
    lines = [
        "# cache_sync benchmarks",
        "",
        f"Database: {connection.vendor}; Python {platform.python_version()}; "
        f"{args.rounds} alternating rounds of {args.repeat} calls; medians.",
        "",
        "| comparison | subject (µs) | baseline (µs) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(f"| {r['name']} | {r['subject_us']:.0f} | {r['baseline_us']:.0f} | {r['ratio']:.2f}x |")
    lines += ["", f"Redis round trips per save (autocommit, product with 3 keys): {round_trips:.2f}", ""]
    return "\n".join(lines)
