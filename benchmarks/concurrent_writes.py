"""Concurrent writers (PostgreSQL): 8 processes saving products, and the outbox's size during a write soak.

The parent starts the writers (`python -m benchmarks.concurrent_writes --child`) and
stops them by PID. Each writer saves products of its own (no row lock is shared),
autocommit, one save per transaction; it waits for a line on stdin to start and
prints how many saves it made when told to stop (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from decimal import Decimal

WRITERS = 8
GOAL = 0.9


def _start_writers(env: dict, first_product: int, without: bool, design: bool | None = None) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "benchmarks.concurrent_writes", "--child"]
    writers = []
    for n in range(WRITERS):
        args = [*command, str(first_product + n), *(["--without"] if without else [])]
        args += [f"--design={int(design)}"] if design is not None else []
        writers.append(subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for writer in writers:
        if writer.stdout.readline().strip() != "ready":
            raise RuntimeError("a writer process did not start")
    return writers


def _go(writers: list[subprocess.Popen]) -> None:
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()


def _stop(writers: list[subprocess.Popen]) -> int:
    for writer in writers:
        os.kill(writer.pid, signal.SIGTERM)
    saves = 0
    for writer in writers:
        out, _err = writer.communicate(timeout=30)
        saves += int(out.split()[-1])
    return saves


def saves_per_second(
    env: dict, first_product: int, seconds: float, without: bool, sample=None, design: bool | None = None
) -> float:
    """With cache_sync, a relay runs beside the writers, as in production (woken by each NOTIFY)."""
    writers = _start_writers(env, first_product, without, design)
    relay = None
    if not without:
        relay = subprocess.Popen(
            [sys.executable, "manage.py", "cache_sync", "relay"], env=env, stdout=subprocess.PIPE, text=True
        )
        relay.stdout.readline()  # "Relaying ..."
    try:
        _go(writers)
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            if sample:
                sample(elapsed)
            time.sleep(min(1.0, seconds - elapsed))
        saves = _stop(writers)
        return saves / (time.perf_counter() - start)
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        if relay is not None:
            relay.send_signal(signal.SIGTERM)
            relay.wait(10)


def run_concurrent(
    without_cache_sync, env: dict, first_product: int, *, rounds: int, seconds: float, designs: dict | None = None
) -> dict:
    """Saves per second with and without cache_sync; and each of `designs` (benchmarks.writes.DESIGNS)."""
    with_rates, without_rates = [], []
    design_rates: dict[str, list[float]] = {name: [] for name in designs or {}}
    for _ in range(rounds):
        with without_cache_sync():
            without_rates.append(saves_per_second(env, first_product, seconds, without=True))
        with_rates.append(saves_per_second(env, first_product, seconds, without=False))
        for name, design in (designs or {}).items():
            design_rates[name].append(saves_per_second(env, first_product, seconds, without=False, design=design))
    ratios = [w / b for w, b in zip(with_rates, without_rates, strict=True)]
    return {
        "designs": {
            name: {
                "saves_per_s": statistics.median(rates),
                "ratio": statistics.median(r / b for r, b in zip(rates, without_rates, strict=True)),
            }
            for name, rates in design_rates.items()
        },
        "with": statistics.median(with_rates),
        "without": statistics.median(without_rates),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "seconds": seconds,
        "rounds": rounds,
    }


def run_soak(env: dict, first_product: int, seconds: float) -> dict:
    """The outbox's on-disk size (table, indexes, TOAST), sampled while 8 writers save for `seconds`."""
    from django.db import connection

    from cache_sync.models import OUTBOX_TABLE

    samples: list[tuple[float, int]] = []

    def sample(elapsed: float) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size(%s)", [OUTBOX_TABLE])
            samples.append((elapsed, cursor.fetchone()[0]))

    rate = saves_per_second(env, first_product, seconds, without=False, sample=sample)
    sample(seconds)
    return {"seconds": seconds, "saves_per_s": rate, "samples": samples}


def format_concurrent(concurrent: dict | None, soak: dict | None) -> list[str]:
    if concurrent is None:
        return ["", "Concurrent writers and the outbox soak: PostgreSQL only (not run on this database)."]
    mark = "met" if concurrent["ratio"] >= GOAL else "NOT met"
    lines = [
        "",
        f"{WRITERS} writer processes saving products of their own, autocommit, {concurrent['seconds']:.0f} s per side, "
        f"{concurrent['rounds']} alternating rounds: with cache_sync {concurrent['with']:.0f} saves/s, without "
        f"{concurrent['without']:.0f} saves/s, ratio {concurrent['ratio']:.2f}x "
        f"(rounds: {', '.join(f'{r:.2f}' for r in concurrent['ratios'])}); goal ≥ {GOAL}x ({mark}).",
    ]
    if soak:
        sizes = [size for _t, size in soak["samples"]]
        lines += [
            "",
            f"Outbox on disk (pg_total_relation_size) during a {soak['seconds']:.0f} s soak of {WRITERS} writers "
            f"({soak['saves_per_s']:.0f} saves/s): first {sizes[0] / 1024:.0f} kB, max {max(sizes) / 1024:.0f} kB, "
            f"last {sizes[-1] / 1024:.0f} kB over {len(sizes)} samples; goal: flat.",
        ]
    return lines


def format_concurrent_designs(concurrent: dict | None) -> list[str]:
    if not concurrent or not concurrent["designs"]:
        return []
    lines = [
        "",
        f"{WRITERS} writers (and a relay), each design against no cache_sync, alternating rounds:",
        "",
        "| design | saves/s | without | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, figures in concurrent["designs"].items():
        rate, without = figures["saves_per_s"], concurrent["without"]
        lines.append(f"| {name} | {rate:.0f} | {without:.0f} | {figures['ratio']:.2f}x |")
    return lines


def _child(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "website.settings")
    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    from catalog.models import Product

    first, without = int(argv[0]), "--without" in argv
    if without:
        override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "RULES": {}}).enable()
    products = list(Product.objects.order_by("id")[first * 10 : first * 10 + 10])
    design = next((arg.split("=", 1)[1] for arg in argv if arg.startswith("--design=")), None)
    if design:
        from benchmarks.writes import write_design

        write_design(design == "1").__enter__()  # for the whole process
    saves = 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    print("ready", flush=True)
    sys.stdin.readline()
    while not stopping:
        product = products[saves % len(products)]
        product.price = Decimal(saves % 1000)
        product.save()
        saves += 1
    print(saves, flush=True)
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    sys.exit(_child(sys.argv[2:]))
