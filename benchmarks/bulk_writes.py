"""Bulk writes in a warmed process: what a long-lived worker pays for update(), bulk_update() and delete().

Each round first makes ~20 single-row saves (and single-row inserts and deletes)
of the product table, as a worker that served requests has: a trigger function's
statements keep the plan PostgreSQL made for them at their first call, and a plan
made for one row is what every later statement of thousands of rows then runs.
Both sides get the same warm-up. The timed write includes the writer's delivery
after its commit (autocommit: Django's on-commit runs at once).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from django.db.models import F

from catalog.models import Category, Product

SIZES = (1_000, 10_000)
WARM_UP_WRITES = 20
LINEAR_LIMIT = 15.0  # 10,000 rows may cost at most this many times 1,000 rows
BULK_UPDATE_BATCH = 1_000  # Django's own CASE WHEN per row makes one 10,000-row statement quadratic by itself
GOAL = 1.5


def _warm_up(category: Category) -> None:
    product = Product.objects.filter(category=category).first()
    for n in range(WARM_UP_WRITES):
        product.price = Decimal(n)
        product.save()
        Product.objects.create(name=f"warm {n}", slug=f"bench-warm-{n}", price=1, category=category).delete()


def _recreate(category: Category, size: int) -> None:
    Product.objects.bulk_create(
        Product(name=f"bulk {n}", slug=f"bench-bulk-{size}-{n}", price=1, category=category) for n in range(size)
    )


def run_bulk(without_cache_sync, *, rounds: int) -> dict:
    """Median seconds per (operation, size) on each side, alternating sides per round."""
    with without_cache_sync():
        categories = {size: Category.objects.create(name=f"Bulk {size}", slug=f"bench-bulk-{size}") for size in SIZES}
        for size, category in categories.items():
            _recreate(category, size)

    def update(size: int) -> Callable[[], object]:
        return lambda: Product.objects.filter(category=categories[size]).update(price=F("price") + 1)

    def bulk_update(size: int) -> Callable[[], object]:
        products = list(Product.objects.filter(category=categories[size]).only("id", "price"))

        def write():
            for product in products:
                product.price += 1
            Product.objects.bulk_update(products, ["price"], batch_size=BULK_UPDATE_BATCH)

        return write

    def delete(size: int) -> Callable[[], object]:
        return lambda: Product.objects.filter(category=categories[size], slug__startswith="bench-bulk-").delete()

    operations = {"update()": update, "bulk_update()": bulk_update, "delete()": delete}
    times: dict[tuple[str, int, str], list[float]] = {}
    for _ in range(rounds):
        for side, context in (("without", without_cache_sync), ("with", _nothing)):
            with context():
                for name, make in operations.items():
                    for size in SIZES:
                        write = make(size)
                        _warm_up(categories[size])
                        start = time.perf_counter()
                        write()
                        times.setdefault((name, size, side), []).append(time.perf_counter() - start)
                        if name == "delete()":
                            _recreate(categories[size], size)
    rows = []
    for name in operations:
        for size in SIZES:
            with_s = statistics.median(times[(name, size, "with")])
            without_s = statistics.median(times[(name, size, "without")])
            rows.append({"operation": name, "rows": size, "with_ms": with_s * 1000, "without_ms": without_s * 1000})
    return {"rows": rows, "linear": _linearity(rows)}


def _linearity(rows: list[dict]) -> list[dict]:
    by_key = {(r["operation"], r["rows"]): r for r in rows}
    checks = []
    for operation in dict.fromkeys(r["operation"] for r in rows):
        small, large = by_key[(operation, SIZES[0])], by_key[(operation, SIZES[-1])]
        factor = large["with_ms"] / small["with_ms"]
        checks.append({"operation": operation, "factor": factor, "ok": factor <= LINEAR_LIMIT})
    return checks


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def format_bulk(bulk: dict) -> list[str]:
    lines = [
        "",
        f"Bulk writes in a warmed process (after {WARM_UP_WRITES} single-row saves, inserts and deletes of the "
        f"table; bulk_update() in batches of {BULK_UPDATE_BATCH:,}); goal ≤ {GOAL}x and linear:",
        "",
        "| write | rows | with cache_sync (ms) | without (ms) | ratio | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in bulk["rows"]:
        ratio = r["with_ms"] / r["without_ms"]
        mark = "met" if ratio <= GOAL else "NOT met"
        lines.append(
            f"| {r['operation']} | {r['rows']:,} | {r['with_ms']:.1f} | {r['without_ms']:.1f} | {ratio:.2f}x "
            f"| ≤ {GOAL}x ({mark}) |"
        )
    lines += ["", f"Linearity (with cache_sync, {SIZES[-1]:,} rows against {SIZES[0]:,}; fails above {LINEAR_LIMIT}x):"]
    lines += [
        f"- {c['operation']}: {c['factor']:.1f}x {'ok' if c['ok'] else 'FAILED: not linear'}" for c in bulk["linear"]
    ]
    return lines
