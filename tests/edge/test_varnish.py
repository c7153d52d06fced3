"""The site under gunicorn behind a real Varnish: a product page names `product:<slug>` in `xkey`,
Varnish keeps it, and after a write Varnish serves the new page (the relay purged it by key)."""

import re
import time
import urllib.request

import pytest

from tests.factories import make_category, make_product
from tools.harness.edge_site import get, site_behind_varnish, varnish_edge
from tools.harness.errors import Unavailable
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


def test_a_product_page_is_served_by_varnish_and_replaced_after_a_write(site):
    product = make_product(make_category("tea"), "jade-teapot")
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


def test_pages_without_keys_are_not_kept_by_varnish(site):
    first, second = get(site.edge + "/accounts/register/"), get(site.edge + "/accounts/register/")
    assert (first.status, second.status) == (200, 200)
    assert "xkey" not in second.headers
    assert second.headers["x-edge"] == "miss"


def test_a_signed_in_visitor_is_never_served_from_varnish(site):
    make_product(make_category("tea"), "jade-teapot")
    get(site.edge + URL)

    request = urllib.request.Request(site.edge + URL, headers={"Cookie": "sessionid=abc"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["X-Edge"] == "miss"
