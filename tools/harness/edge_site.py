"""The site as `make run` serves it (gunicorn and the relay), behind a Varnish of its own with the
project's VCL, purged by the relay (CACHE_SYNC_VARNISH_URLS): for the edge's tests and its benchmark.

    with site_behind_varnish(env, logs) as running:
        get(running.site + "/products/x/").headers["xkey"]   # product:x
        get(running.edge + "/products/x/").headers["x-edge"]  # miss, then hit
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools import stack
from tools.harness.ports import quiet_port
from tools.harness.varnish import VarnishServer

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def get(url: str, timeout: float = 10) -> Answer:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return Answer(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, {k.lower(): v for k, v in error.headers.items()}, "")


def varnish_edge(url: str) -> dict[str, object]:
    """CACHE_SYNC["EDGE"] as website/settings.py makes it from CACHE_SYNC_VARNISH_URLS."""
    return {"BACKEND": "cache_sync.edge.backends.Varnish", "OPTIONS": {"urls": [url]}}


@dataclass
class SiteBehindVarnish:
    site: str  # gunicorn's URL
    edge: str  # Varnish's URL


@contextlib.contextmanager
def site_behind_varnish(
    env: dict[str, str], logs: Path, *, varnish_port: int | None = None
) -> Iterator[SiteBehindVarnish]:
    """`env`: the site's (its database, its Redis). Raises errors.Unavailable without varnishd or vmod xkey."""
    site_port = quiet_port()
    varnish = VarnishServer(backend_port=site_port, port=varnish_port)
    env = {**env, "CACHE_SYNC_VARNISH_URLS": varnish.url}
    processes: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack_of_exits:
        for name, command in (
            ("gunicorn", stack.gunicorn_command(f"127.0.0.1:{site_port}")),
            ("relay", [sys.executable, "manage.py", "cache_sync", "relay"]),
        ):
            log = stack_of_exits.enter_context((logs / f"{name}.log").open("wb"))
            processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        stack_of_exits.callback(_stop, processes)
        site = f"http://127.0.0.1:{site_port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                get(site + "/", timeout=5)
                break
            except OSError:
                assert all(p.poll() is None for p in processes), (logs / "gunicorn.log").read_text()
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        varnish.start()
        stack_of_exits.callback(varnish.__exit__)
        yield SiteBehindVarnish(site, varnish.url)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
