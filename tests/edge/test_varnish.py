"""The site under gunicorn behind a real Varnish: a product page names `product:<slug>` in `xkey`,
Varnish keeps it, and after a write Varnish serves the new page (the relay purged it by key)."""

import re
import time
import urllib.error
import urllib.request

import pytest

from tests.factories import make_category, make_product
from tools.harness.edge_site import get, site_behind_varnish, varnish_edge
from tools.harness.errors import Unavailable
from tools.harness.ports import quiet_port
from tools.harness.varnish import varnishd_binary

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/products/jade-teapot/"


@pytest.fixture
def site(site_env, tmp_path, settings):
    try:
        varnishd_binary()
    except Unavailable as error:
        pytest.skip(f"no Varnish: {error}")
    with site_behind_varnish(site_env, tmp_path) as running:
        # This test process writes too: like every writer of the site, it queues the edge's purges.
        settings.CACHE_SYNC = {**settings.CACHE_SYNC, "EDGE": varnish_edge(running.edge)}
        yield running


def version_of(body: str) -> int:
    return int(re.search(r'class="product" data-version="(\d+)"', body).group(1))


def edge_purges_sent() -> None:
    """Wait until the relay has sent the queued purges: one landing between two reads would be a miss."""
    from cache_sync.models import EdgePurge

    deadline = time.monotonic() + 20
    while EdgePurge.objects.exists():
        assert time.monotonic() < deadline, "the relay sent no queued purge within 20 s"
        time.sleep(0.05)


def test_a_product_page_is_served_by_varnish_and_replaced_after_a_write(site):
    product = make_product(make_category("tea"), "jade-teapot")
    edge_purges_sent()  # the creation's own purge of product:jade-teapot
    origin = get(site.site + URL)
    assert origin.headers["xkey"] == "product:jade-teapot"
    first, second = get(site.edge + URL), get(site.edge + URL)
    assert (first.status, second.status) == (200, 200)
    assert second.headers["x-edge"] == "hit"
    assert version_of(second.body) == version_of(origin.body)

    product.name = "Jade Teapot, Renamed"
    product.save()
    deadline = time.monotonic() + 20
    while "Renamed" not in (answer := get(site.edge + URL)).body:
        assert time.monotonic() < deadline, "Varnish kept serving the old page"
        time.sleep(0.02)
    assert version_of(answer.body) > version_of(origin.body)


@pytest.mark.parametrize("path", ["/accounts/register/", "/accounts/profile/"])  # a form; a redirect, no cookie
def test_pages_without_keys_are_not_kept_by_varnish(site, path):
    import urllib.request as request

    class NoRedirect(request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = request.build_opener(NoRedirect)
    answers = []
    for _ in range(2):
        try:
            answers.append(opener.open(site.edge + path, timeout=10))
        except urllib.error.HTTPError as redirect:
            answers.append(redirect)
    assert answers[0].status in (200, 302)
    assert "xkey" not in answers[1].headers
    assert answers[1].headers["X-Edge"] == "miss"


def test_a_signed_in_visitor_is_never_served_from_varnish(site):
    make_product(make_category("tea"), "jade-teapot")
    get(site.edge + URL)

    request = urllib.request.Request(site.edge + URL, headers={"Cookie": "sessionid=abc"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["X-Edge"] == "miss"


def purge_from(address: str, port: int) -> bytes:
    """A PURGE sent from `address` (any 127.x address is this host's: Varnish sees it as the client's)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(address, 0)) as sock:
        sock.sendall(b"PURGE / HTTP/1.1\r\nHost: x\r\nxkey-purge: product:a\r\nConnection: close\r\n\r\n")
        return sock.recv(100)


def test_varnish_takes_a_purge_from_the_host_only(varnish_in_front):
    varnish = varnish_in_front(quiet_port())  # no site behind: a purge never reaches it
    assert purge_from("127.0.0.1", varnish.port).startswith(b"HTTP/1.1 200")
    assert purge_from("127.0.0.2", varnish.port).startswith(b"HTTP/1.1 403")
