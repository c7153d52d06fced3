"""The edge's window (`python -m benchmarks.edge_window`): from a write's return to Varnish serving the new page.

The site runs as `make run` runs it (gunicorn, the relay) behind a real Varnish purged by the relay.
This process is a writer like the site's: each write commits, deletes the Redis families and queues
the edge's purges before it returns (what a write's response waits for); then it polls the product
page through Varnish until it shows the new version. The window is that time. Run it under
`python -m tools.stack exec --` (a Redis); DATABASE_URL may name a PostgreSQL database it may use
(default: an SQLite file of its own).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.harness.edge_site import get, site_behind_varnish
from tools.harness.ports import quiet_port

ROOT = Path(__file__).resolve().parent.parent
URL = "/products/edge-window/"


def version(body: str) -> int:
    found = re.search(r'class="product" data-version="(\d+)"', body)
    return int(found.group(1)) if found else -1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=50)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="edge-window-"))
    varnish_port = quiet_port()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
    os.environ["CACHE_KEY_PREFIX"] = f"edge-window-{os.getpid()}"
    os.environ["CACHE_SYNC_VARNISH_URLS"] = f"http://127.0.0.1:{varnish_port}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "website.settings"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from catalog.models import Category, Product

    category, _ = Category.objects.get_or_create(slug="edge-window", defaults={"name": "Edge window"})
    product, _ = Product.objects.get_or_create(
        slug="edge-window", defaults={"name": "Edge window", "price": 1, "description": "-", "category": category}
    )
    windows, polls = [], []
    with site_behind_varnish(dict(os.environ), workdir, varnish_port=varnish_port) as running:
        for i in range(args.writes):
            while get(running.edge + URL).headers.get("x-edge") != "hit":  # Varnish holds the current page
                time.sleep(0.01)
            Product.objects.filter(pk=product.pk).update(price=i + 2)  # commits, delivers, queues, returns
            written = time.perf_counter()
            expected = Product.objects.get(pk=product.pk).version
            count = 0
            while version(get(running.edge + URL).body) < expected:
                count += 1
            windows.append((time.perf_counter() - written) * 1000)
            polls.append(count)
    windows.sort()
    print(f"edge window over {len(windows)} writes (write's return -> Varnish serves the new page), ms:")
    print(
        f"  p50 {statistics.median(windows):.1f}  p90 {windows[int(len(windows) * 0.9)]:.1f}  max {windows[-1]:.1f}"
        f"  (stale answers before the new page: median {statistics.median(polls):g}, max {max(polls)})"
    )
    print(f"  database: {os.environ['DATABASE_URL'].split(':', 1)[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
