"""One HTTP request to an edge, tried again on what may pass (a refused connection, a timeout, 5xx, 429).

urllib, not a client library: a purge is a handful of small requests, and the library stays free
of a dependency for it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping

ATTEMPTS = 3  # per request; then the purge is left in the queue for the purger's next round
FIRST_DELAY = 0.1  # seconds before the second attempt, doubled for each next one
MAX_RETRY_AFTER = 5.0  # seconds: a longer Retry-After is left to the purger's back-off


class EdgeUnavailable(Exception):
    """The edge did not take the purge: it stays queued and is tried again."""


def send(method: str, url: str, headers: Mapping[str, str], body: bytes | None = None, *, timeout: float = 5.0) -> int:
    """The status of the first answer below 500 that is not 429; raises EdgeUnavailable after ATTEMPTS,
    or at once on another 4xx (a wrong token, a wrong service: retrying cannot help)."""
    delay = FIRST_DELAY
    problem = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(delay)
            delay *= 2
        request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status: int = answer.status
                return status
        except urllib.error.HTTPError as error:
            problem = f"{method} {url} answered {error.code}"
            if error.code == 429:
                delay = max(delay, _retry_after(error.headers.get("Retry-After")))
            elif error.code < 500:
                raise EdgeUnavailable(f"{problem}: {error.read(200)!r}") from None
        except (OSError, ValueError) as error:  # refused, reset, timed out (URLError is an OSError)
            problem = f"{method} {url} failed: {error}"
    raise EdgeUnavailable(f"{problem} ({ATTEMPTS} attempts)")


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 0.0
