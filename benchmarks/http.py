"""The read side over HTTP (`make bench`): gunicorn and wrk, interleaved rounds, ratios from one run.

Compared, for home, a category page and a product page: an anonymous hit (the
front door), a signed-in hit, the same view uncached, and a bare view through the
full middleware stack (the ceiling); at 2 sync workers (one a core here) and at
gunicorn's advice for sync workers, 2 x cores + 1 (a worker waiting on Redis leaves
its core to another). Then, at the first count: the memory of 1,000 signed-in visitors
browsing 100 pages (their records against the pages they share); a flood of junk
`?page=` values and Redis's memory; and Redis paused (SIGSTOP) for 10 s under load.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis

from tools.harness.ports import quiet_port
from tools.harness.redis_servers import RedisServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"home": "/", "category": "/categories/{category}/", "product": "/products/{product}/"}
UNCACHED = {
    "home": "/bench/uncached/",
    "category": "/bench/uncached/categories/{category}/",
    "product": "/bench/uncached/products/{product}/",
}
LOGIN_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
user, _ = get_user_model().objects.get_or_create(username="bench")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


def ensure_wrk() -> None:
    """wrk is a Debian package: installed here when missing and we are root, else the way is named."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        raise SystemExit("benchmarks.http needs wrk: apt-get install wrk")


def wrk(url: str, seconds: float, *, connections: int = 8, headers: dict | None = None, script: str = "") -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "5s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(errors.group(1)) if errors else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return {"rps": rate, "p99_ms": p99, "errors": failed}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Site:
    """gunicorn serving the site with benchmarks.settings, on a seeded database of its own."""

    def __init__(self, redis_url: str, workdir: Path, workers: int) -> None:
        self.category = self.product = ""  # found on the home page once the server answers
        self.port = quiet_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"bench-http-{secrets.token_hex(4)}",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        manage = [sys.executable, "manage.py"]
        for step in (["migrate", "-v0"], ["seed_catalog", "--categories", "4", "--products", "200", "--if-empty"]):
            subprocess.run(manage + step, cwd=ROOT, env=self.env, check=True, stdout=subprocess.DEVNULL)
        self.session = subprocess.run(
            [*manage, "shell", "-c", LOGIN_SCRIPT], cwd=ROOT, env=self.env, check=True, capture_output=True, text=True
        ).stdout.split()[-1]  # the shell may first say what it imported
        self.start(workers)
        self.category = re.search(rb'href="/categories/([\w-]+)/"', self.get("/")[1]).group(1).decode()
        self.product = re.search(rb'href="/products/([\w-]+)/"', self.get("/")[1]).group(1).decode()

    def start(self, workers: int) -> None:
        """gunicorn with `workers` sync workers, once it answers."""
        self.workers = workers
        gunicorn = [sys.executable, "-m", "gunicorn", "website.wsgi", "--workers", str(workers)]
        self.server = subprocess.Popen(
            [*gunicorn, "--bind", f"127.0.0.1:{self.port}"], cwd=ROOT, env=self.env, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.get("/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.1)

    def url(self, path: str) -> str:
        return self.base + path.format(category=self.category, product=self.product)

    def get(self, path: str, cookie: str = "") -> tuple[dict, bytes]:
        request = urllib.request.Request(self.url(path), headers={"Cookie": cookie} if cookie else {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(response.headers), response.read()

    def stop(self) -> None:
        self.server.send_signal(signal.SIGTERM)
        self.server.wait(15)


def compare_pages(site: Site, rounds: int, seconds: float) -> list[dict]:
    # As a browser sends it: the session and the CSRF cookie a first page set (else each page sets a new one).
    first, _ = site.get(PAGES["home"], f"sessionid={site.session}")
    csrf = re.search(r"csrftoken=(\w+)", first.get("Set-Cookie", ""))
    signed_in = {"Cookie": f"sessionid={site.session}" + (f"; csrftoken={csrf.group(1)}" if csrf else "")}
    cases = {"bare view (full middleware)": (site.url("/bench/bare/"), {})}
    for name in PAGES:
        cases[f"{name}: anonymous hit"] = (site.url(PAGES[name]), {})
        cases[f"{name}: signed-in hit"] = (site.url(PAGES[name]), signed_in)
        cases[f"{name}: uncached view"] = (site.url(UNCACHED[name]), {})
    for name in PAGES:  # warm both variants
        site.get(PAGES[name])
        site.get(PAGES[name], signed_in["Cookie"])
    runs: dict[str, list[dict]] = {case: [] for case in cases}
    for _ in range(rounds):  # interleaved: the machine's noise hits every case alike
        for case, (url, headers) in cases.items():
            runs[case].append(wrk(url, seconds, headers=headers))
    bare_rps = statistics.median(r["rps"] for r in runs["bare view (full middleware)"])
    rows = []
    for case, results in runs.items():
        page = case.split(":")[0]
        uncached = runs.get(f"{page}: uncached view")
        rps = statistics.median(r["rps"] for r in results)
        rows.append(
            {
                "case": case,
                "rps": rps,
                "p99_ms": statistics.median(r["p99_ms"] for r in results),
                "vs_bare": rps / bare_rps,
                "vs_uncached": rps / statistics.median(r["rps"] for r in uncached) if uncached else None,
                "errors": sum(r["errors"] for r in results),
            }
        )
    return rows


VISITORS_SCRIPT = """
from cache_sync import suspended
from django.contrib.auth import get_user_model
from django.test import Client
User = get_user_model()
with suspended():
    User.objects.bulk_create(
        [User(username=f"reader{i:04d}", password="!") for i in range(%(count)d)], ignore_conflicts=True
    )
for user in User.objects.filter(username__startswith="reader").order_by("pk")[:%(count)d]:
    client = Client()
    client.force_login(user)
    print("session", client.cookies["sessionid"].value)
"""
BROWSE_SCRIPT = """
cookies = {%(cookies)s}
paths = {%(paths)s}
counter = 0
answered = 0
request = function()
  local cookie = cookies[counter %% #cookies + 1]
  local path = paths[math.floor(counter / #cookies) %% #paths + 1]
  counter = counter + 1
  return wrk.format("GET", path, {["Cookie"] = "sessionid=" .. cookie})
end
-- wrk's main thread sleeps out -d even when its thread stops: the last answer ends the process.
response = function()
  answered = answered + 1
  if answered >= #cookies * #paths then os.exit(0) end
end
"""


def visitor_memory(site: Site, redis_client: redis.Redis, visitors: int, pages: int) -> dict:
    """Each of `visitors` signed-in visitors gets each of `pages` product pages; Redis's memory by kind of key."""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", VISITORS_SCRIPT % {"count": visitors}],
        cwd=ROOT,
        env=site.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cookies = [line.split()[1] for line in out.splitlines() if line.startswith("session ")]
    home = site.get("/")[1].decode()
    category_paths = sorted(set(re.findall(r'href="(/categories/[\w-]+/)"', home)))
    paths: list[str] = []
    for category in category_paths:  # the products listed on each category's pages
        for number in range(1, 4):
            html = site.get(category + (f"?page={number}" if number > 1 else ""))[1].decode()
            paths += [p for p in re.findall(r'href="(/products/[\w-]+/)"', html) if p not in paths]
    paths = paths[:pages]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            BROWSE_SCRIPT % {"cookies": ",".join(f'"{c}"' for c in cookies), "paths": ",".join(f'"{p}"' for p in paths)}
        )
    try:
        started = time.monotonic()  # it exits at the last answer (BROWSE_SCRIPT), else after 600 s
        subprocess.run(["wrk", "-t1", "-c8", "-d600s", "-s", script.name, site.base + "/"], capture_output=True)
        browsed_s = time.monotonic() - started
    finally:
        os.unlink(script.name)
    prefix = site.env["CACHE_KEY_PREFIX"]
    used = {"visitor": [0, 0], "page": [0, 0], "product": [0, 0]}  # bytes, families
    for name in redis_client.scan_iter(match=f"{prefix}:*", count=1000):
        kinds = ["visitor"] if b"{visitor:" in name else ["page"] if b"{" in name else []
        if b"{product:" in name:
            kinds.append("product")
        for kind in kinds:
            used[kind][0] += redis_client.memory_usage(name, samples=0) or 0
            used[kind][1] += 1
    return {
        "visitors": len(cookies),
        "pages": len(paths),
        "browsed_s": browsed_s,
        "visitor_bytes": used["visitor"][0],
        "visitor_keys": used["visitor"][1],
        "page_bytes": used["page"][0],
        "page_keys": used["page"][1],
        "product_bytes": used["product"][0],
    }


FLOOD_SCRIPT = """
counter = 0
answered = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "%(path)s?page=x" .. counter .. string.rep("y", 200))
end
response = function()
  answered = answered + 1
  if answered >= %(limit)d then os.exit(0) end
end
"""


def junk_flood(site: Site, redis_client: redis.Redis, requests: int = 10_000) -> dict:
    """Distinct junk `?page=` values for one category page: Redis must not grow with them."""
    site.get(PAGES["category"])
    before = redis_client.info("memory")["used_memory"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(FLOOD_SCRIPT % {"limit": requests, "path": PAGES["category"].format(category=site.category)})
    try:  # it exits at the last answer (FLOOD_SCRIPT), else after 120 s
        subprocess.run(["wrk", "-t1", "-c4", "-d120s", "-s", script.name, site.base + "/"], capture_output=True)
    finally:
        os.unlink(script.name)
    return {"requests": requests, "growth_bytes": redis_client.info("memory")["used_memory"] - before}


RELAY = [sys.executable, "manage.py", "cache_sync", "relay"]
UPDATE_PRICE = "from catalog.models import Product; Product.objects.filter(slug=%r).update(price=%s)"


def paused_redis(site: Site, server: RedisServer, seconds: float) -> dict:
    """Redis stopped (SIGSTOP) for `seconds` under load on the product page; a write meanwhile."""
    site.get(PAGES["product"])
    server.pause()
    try:
        writer = subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", UPDATE_PRICE % (site.product, "4321.00")],
            cwd=ROOT,
            env=site.env,
        )
        during = wrk(site.url(PAGES["product"]), seconds)
        writer.wait(30)
    finally:
        server.resume()
    # Once Redis answers again and pages are served from it (hits), they must show the new price.
    resumed = time.monotonic()
    while time.monotonic() - resumed < 30:
        headers, body = site.get(PAGES["product"])
        if headers.get("X-Cache") == "hit":
            return {**during, "stale_after_resume": b"4321.00" not in body, "hit_after_s": time.monotonic() - resumed}
        time.sleep(0.05)
    return {**during, "stale_after_resume": None, "hit_after_s": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="per wrk run")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(count) for count in text.split(",")],
        default=[2, 2 * (os.cpu_count() or 1) + 1],
        help="gunicorn sync worker counts, comma-separated (default: 2 and 2 x cores + 1)",
    )
    parser.add_argument("--pause", type=float, default=10.0, help="seconds Redis stays paused")
    parser.add_argument("--visitors", type=int, default=1000, help="signed-in visitors of the memory measure")
    parser.add_argument("--visitor-pages", type=int, default=100, help="product pages each of them gets")
    args = parser.parse_args(argv)
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        site = relay = None
        try:
            site = Site(server.url, Path(tmp), args.workers[0])
            relay = subprocess.Popen(RELAY, cwd=ROOT, env=site.env, stdout=subprocess.DEVNULL)
            tables = {}
            for workers in args.workers:
                if workers != site.workers:
                    site.stop()
                    site.start(workers)
                tables[workers] = compare_pages(site, args.rounds, args.seconds)
            if site.workers != args.workers[0]:
                site.stop()
                site.start(args.workers[0])
            memory = visitor_memory(site, server.client(), args.visitors, args.visitor_pages)
            flood = junk_flood(site, server.client())
            paused = paused_redis(site, server, args.pause)
        finally:
            if relay is not None:
                relay.send_signal(signal.SIGTERM)
                relay.wait(10)
            if site:
                site.stop()
            server.kill()
    uncached_product = next(r["rps"] for r in tables[args.workers[0]] if r["case"] == "product: uncached view")
    report = format_report(tables, memory, flood, paused, uncached_product, args)
    print(report)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "http.md").write_text(report)
    return 0


SIGNED_IN_GOALS = {"vs_bare": 0.8, "vs_uncached": 5.0}  # issue 19's


def format_report(tables, memory, flood, paused, uncached_product, args) -> str:
    lines = ["# cache_sync over HTTP", ""]
    for workers, rows in tables.items():
        lines += [
            f"gunicorn {workers} sync workers, wrk -t1 -c8, {args.rounds} interleaved rounds of "
            f"{args.seconds:g} s per case; medians.",
            "",
            "| case | req/s | p99 (ms) | vs bare view | vs uncached | errors |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in rows:
            vs_uncached = f"{r['vs_uncached']:.2f}x" if r["vs_uncached"] else ""
            cells = [r["case"], f"{r['rps']:.0f}", f"{r['p99_ms']:.1f}", f"{r['vs_bare']:.2f}x", vs_uncached]
            lines.append("| " + " | ".join([*cells, str(r["errors"])]) + " |")
        lines += ["", signed_in_goals(workers, rows), ""]
    if len(tables) > 1:
        lines += [best_of_each(tables), ""]
    lines += [f"At {args.workers[0]} workers:"]
    shared = memory["page_bytes"]
    lines += [
        "",
        f"Memory: {memory['visitors']:,} signed-in visitors each got {memory['pages']} product pages"
        + (
            f" ({memory['visitors'] * memory['pages']:,} requests in {memory['browsed_s']:.0f} s). "
            if memory["browsed_s"] < 599
            else " (cut at wrk's 600 s: not every request was answered). "
        )
        + f"Their records "
        f"(nav fragment, session hash): {memory['visitor_bytes'] / 1024:.1f} KiB in {memory['visitor_keys']:,} keys, "
        f"{memory['visitor_bytes'] / max(memory['visitors'], 1):.0f} bytes per visitor; every cached page, shared "
        f"(all variants, all kinds): {shared / 1024:.1f} KiB in {memory['page_keys']:,} families, of which the "
        f"product pages {memory['product_bytes'] / 1024:.1f} KiB. A copy of each product page per visitor (no holes) "
        f"would take about {memory['visitors']:,} x that: "
        f"{memory['visitors'] * memory['product_bytes'] / 1024**2:.0f} MiB (computed, not measured).",
        "",
        f"Junk flood: {flood['requests']:,} distinct `?page=` values on one category page; "
        f"Redis memory grew by {flood['growth_bytes'] / 1024:.1f} KiB.",
        "",
        f"Redis paused (SIGSTOP) for {args.pause:g} s under load on the product page: {paused['rps']:.0f} req/s "
        f"({paused['rps'] / uncached_product:.0%} of the uncached product view's), p99 {paused['p99_ms']:.0f} ms, "
        f"{paused['errors']} errors; a price written meanwhile: "
        + {
            True: "STALE when hits resumed.",
            False: f"shown by the first hit after resuming ({paused['hit_after_s']:.2f} s later): 0 stale pages.",
            None: "no hit within 30 s of resuming.",
        }[paused["stale_after_resume"]],
        "",
    ]
    return "\n".join(lines)


def signed_in_goals(workers: int, rows: list[dict]) -> str:
    """Each page's signed-in hit against the goals: >= 0.8x the bare view, >= 5x its uncached view."""
    signed = [r for r in rows if r["case"].endswith(": signed-in hit")]
    parts = []
    for r in signed:
        met = r["vs_bare"] >= SIGNED_IN_GOALS["vs_bare"] and r["vs_uncached"] >= SIGNED_IN_GOALS["vs_uncached"]
        page = r["case"].split(":")[0]
        parts.append(f"{page} {r['vs_bare']:.2f}x / {r['vs_uncached']:.2f}x ({'met' if met else 'NOT met'})")
    return (
        f"Signed-in hit at {workers} workers, against the goals (>= {SIGNED_IN_GOALS['vs_bare']}x the bare view, "
        f">= {SIGNED_IN_GOALS['vs_uncached']:g}x the uncached page): " + "; ".join(parts) + "."
    )


def best_of_each(tables: dict[int, list[dict]]) -> str:
    """Each case at the worker count that serves it best: a signed-in hit against the bare and the
    uncached view each at their own best (more workers than cores slow a view that never waits)."""
    best: dict[str, tuple[float, int]] = {}
    for workers, rows in tables.items():
        for r in rows:
            best[r["case"]] = max(best.get(r["case"], (0.0, 0)), (r["rps"], workers))
    bare, bare_workers = best["bare view (full middleware)"]
    parts = []
    for page in PAGES:
        signed, signed_workers = best[f"{page}: signed-in hit"]
        uncached, uncached_workers = best[f"{page}: uncached view"]
        parts.append(
            f"{page} {signed:.0f} req/s ({signed_workers} workers): {signed / bare:.2f}x the bare view "
            f"({bare:.0f} at {bare_workers}), {signed / uncached:.2f}x uncached ({uncached:.0f} at {uncached_workers})"
        )
    return "Each case at its best worker count, signed-in hit: " + "; ".join(parts) + "."


if __name__ == "__main__":
    sys.exit(main())
