"""The read side of `make bench`: a cached page against building it and against the floor (one GET)."""

from __future__ import annotations

import platform

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from catalog import views
from catalog.models import Category, Product


def _request():
    request = RequestFactory().get("/products/bench-teapot/")
    request.user = AnonymousUser()
    return request


def one_redis_get_view(request):
    """The floor: a bare Django view that does one Redis GET."""
    return HttpResponse(cache.get("bench:floor") or b"")


def run_all(compare, *, rounds: int, repeat: int):
    category = Category.objects.create(name="Bench", slug="bench")
    Product.objects.create(name="Bench Teapot", slug="bench-teapot", price=1, category=category)
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

    return [
        compare("cached page vs uncached page (latency)", cached_page, uncached_page, rounds=rounds, repeat=repeat),
        compare("cached page vs one-GET view (the floor)", cached_page, floor, rounds=rounds, repeat=repeat),
    ]


def clean_up() -> None:
    client = cache.client.get_client()
    prefix = cache.key_prefix
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def format_report(pages, writes, args) -> str:
    lines = [
        "# cache_sync benchmarks",
        "",
        f"Database: {connection.vendor}; Python {platform.python_version()}; "
        f"{args.rounds} alternating rounds; medians of per-round times and ratios.",
        "",
        "| comparison | subject (µs) | baseline (µs) | ratio | goal (issue 17) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    from benchmarks.writes import GOALS

    for r in [*pages, *writes["results"]]:
        goal = GOALS.get(r["name"])
        mark = "" if goal is None else f"≤ {goal}x ({'met' if r['ratio'] <= goal else 'NOT met'})"
        lines.append(f"| {r['name']} | {r['subject_us']:.0f} | {r['baseline_us']:.0f} | {r['ratio']:.2f}x | {mark} |")
    lines += ["", "Redis round trips per write transaction, in the writer's request:", ""]
    lines += [f"- {name}: {n}" for name, n in writes["round_trips"].items()]
    from benchmarks.bulk_writes import format_bulk
    from benchmarks.concurrent_writes import format_concurrent

    lines += format_bulk(writes["bulk"])
    lines += format_concurrent(writes["concurrent"], writes["soak"])
    relay = writes["relay"]
    lines += [
        "",
        f"Relay delivery of {relay['samples']} writes made through a connection Django never sees (as a writer "
        "killed after its COMMIT leaves them): from the commit to a reader's first miss, "
        f"p50 {relay['p50_ms']:.1f} ms, p99 {relay['p99_ms']:.1f} ms, max {relay['max_ms']:.1f} ms.",
        "",
        "Category rename (one save() in its own request, delivery included):",
        "",
        "| products in the category | rename with cache_sync (ms) | without (ms) | per related key (µs) |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for row in writes["fan_out"]:
        lines.append(
            f"| {row['products']:,} | {row['rename_ms']:.0f} | {row['without_ms']:.1f} | {row['per_key_us']:.1f} |"
        )
    return "\n".join(lines) + "\n"
