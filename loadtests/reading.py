"""What a reader makes of an answer: a page checked against the oracle, a page gone, or a failure.

Apart from locustfile.py so that tests use it without importing Locust (which patches the process).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from loadtests.oracle import Oracle
from loadtests.site_pages import Page
from loadtests.staleness import Expected, stale_failure_message


def page_gone(page: Page, status: int) -> bool:
    """A 404 for a category page after the first: the category has fewer pages than when it was crawled.

    Writers move products between categories, so a page number the map holds may no longer exist,
    and no page list can be kept current: a move acknowledged after the reader picked its page, or
    committed and not acknowledged yet, removes it all the same. Writers never delete a category nor
    change its slug, and page 1 always exists (an empty category shows an empty first page), so a
    404 of page 1, or of any other kind of page (all are number 1), stays a failure.
    """
    return status == 404 and page.number > 1


def judge_read(
    oracle: Oracle,
    page: Page,
    status: int,
    headers: Mapping[str, str],
    *,
    expected: Expected,
    t_send: float,
    latency_ms: float,
    reader: str = "anonymous",
    body: str = "",
) -> str | None:
    """The failure message of a reader's answer, or None when it passes.

    A page gone passes and is counted as such, not as a read: it shows no data to check.
    A signed-in reader (`reader` "signed-in:<username>") must see their own name in the nav, and no
    one else's; an anonymous one no name at all. (Writers change display names and bios, never a
    username, which is what the nav shows: the nav's name cannot be stale, only someone else's.)
    """
    if page_gone(page, status):
        oracle.record_page_gone(page.kind)
        return None
    if status == 503:
        # The database restarting: counted in the fault window its answer arrived in (a request sent
        # just before the restart began waits in gunicorn's queue and meets the server down).
        oracle.record_unavailable(page.kind, t_send + latency_ms / 1000)
    if status != 200:
        return f"HTTP {status}"
    header = headers.get("X-Data-Version")
    cache_status = headers.get("X-Cache")
    if not header or cache_status not in ("hit", "miss"):
        return f"X-Data-Version={header!r}, X-Cache={cache_status!r}"
    if body and (wrong := wrong_nav(body, reader)):
        return wrong
    outcome = oracle.record_read(
        page=page.key,
        kind=page.kind,
        header=header,
        cache_status=cache_status,
        expected=expected,
        t_send=t_send,
        latency_ms=latency_ms,
        reader=reader.partition(":")[0],
    )
    if outcome.stale:
        # A failure of this very request: counted once, with its real latency, never as extra traffic.
        return stale_failure_message(outcome.age_ms)
    return None


_SIGNED_IN_AS = re.compile(r"Signed in as ([^<]*)</a>")


def wrong_nav(body: str, reader: str) -> str | None:
    """Why the nav of `body` is not this reader's (another visitor's name, or none), or None."""
    kind, _, username = reader.partition(":")
    shown = _SIGNED_IN_AS.findall(body)
    wanted = [username] if kind == "signed-in" else []
    return None if shown == wanted else f"NAV: {reader} was shown {shown!r}"
