"""The edge backends against a local server that records their calls: batches under each vendor's
limit, the vendor's auth header, retries on 5xx and 429, no retry on another 4xx."""

import pytest

from cache_sync.edge import transport
from cache_sync.edge.backends import Cloudflare, Fastly, Varnish
from cache_sync.edge.transport import EdgeUnavailable
from cache_sync.tests.edge_servers import RecordingEdge
from tools.harness.ports import quiet_port


@pytest.fixture
def edge(monkeypatch):
    monkeypatch.setattr(transport, "FIRST_DELAY", 0.01)
    server = RecordingEdge().start()
    yield server
    server.stop()


def keys(n):
    return [f"product:p{i}" for i in range(n)]


def test_fastly_purges_by_surrogate_key_in_batches_of_at_most_256_with_its_token(edge):
    Fastly("svc1", "secret-token", api_url=edge.url).purge(keys(600))
    assert [len(call.json()["surrogate_keys"]) for call in edge.calls] == [256, 256, 88]
    assert {(call.method, call.path) for call in edge.calls} == {("POST", "/service/svc1/purge")}
    assert {call.headers["fastly-key"] for call in edge.calls} == {"secret-token"}
    assert "fastly-soft-purge" not in edge.calls[0].headers
    assert edge.purged_keys() == keys(600)


def test_fastly_soft_purge_says_so(edge):
    Fastly("svc1", "t", api_url=edge.url, soft=True).purge(keys(1))
    assert edge.calls[0].headers["fastly-soft-purge"] == "1"


def test_cloudflare_purges_by_tag_in_batches_of_at_most_100_with_a_bearer_token(edge):
    Cloudflare("zone9", "cf-token", api_url=edge.url).purge(keys(250))
    assert [len(call.json()["tags"]) for call in edge.calls] == [100, 100, 50]
    assert {call.path for call in edge.calls} == {"/zones/zone9/purge_cache"}
    assert {call.headers["authorization"] for call in edge.calls} == {"Bearer cf-token"}
    assert edge.purged_keys() == keys(250)


def test_varnish_sends_every_key_to_every_server_in_headers_under_its_limit(edge):
    other = RecordingEdge().start()
    try:
        Varnish([edge.url, other.url]).purge(keys(1000))
    finally:
        other.stop()
    for server in (edge, other):
        assert server.purged_keys() == keys(1000)
        assert all(len(call.headers["xkey-purge"]) <= Varnish.MAX_HEADER for call in server.calls)
        assert len(server.calls) > 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_purge_answered_5xx_or_429_is_sent_again(edge, status):
    edge.answers.extend([(status, {"Retry-After": "0"}), (status, {})])
    Fastly("svc1", "t", api_url=edge.url).purge(keys(3))
    assert len(edge.calls) == 3
    assert edge.calls[0].body == edge.calls[2].body


def test_a_purge_that_keeps_failing_raises_after_the_attempts(edge):
    edge.answers.extend([(503, {})] * transport.ATTEMPTS)
    with pytest.raises(EdgeUnavailable, match="503"):
        Cloudflare("z", "t", api_url=edge.url).purge(keys(1))
    assert len(edge.calls) == transport.ATTEMPTS


def test_a_refused_purge_is_not_sent_again(edge):
    edge.answers.append((403, {}))
    with pytest.raises(EdgeUnavailable, match="403"):
        Fastly("svc1", "wrong", api_url=edge.url).purge(keys(1))
    assert len(edge.calls) == 1


def test_an_edge_that_is_not_there_raises(monkeypatch):
    monkeypatch.setattr(transport, "FIRST_DELAY", 0.01)
    with pytest.raises(EdgeUnavailable):
        Varnish([f"http://127.0.0.1:{quiet_port()}"]).purge(keys(1))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Varnish("http://one.string"),
        lambda: Varnish([]),
        lambda: Varnish(["ftp://x"]),
        lambda: Fastly("", "t"),
        lambda: Cloudflare("z", ""),
        lambda: Varnish(["http://x"], timeout=0),
    ],
)
def test_wrong_options_raise_value_errors(make):
    with pytest.raises(ValueError):
        make()
