"""pytest fixtures over the harness: servers a test owns. Skipped, saying why, where this machine
has no binary for them.

    own_redis           a redis-server of this test's own (.url, .pause(), .resume(), .kill(), .start())
    postgres_servers    a PostgreSQL primary and a hot standby streaming from it, for the session
    own_postgres        a PostgreSQL primary of this test's own, which it may stop and restart
    varnish_in_front    `varnish_in_front(site_port)`: a varnishd of this test's own before that site
"""

from __future__ import annotations

import pytest

from .errors import Unavailable
from .postgres import PrivatePostgres
from .redis_servers import RedisServer
from .varnish import VarnishServer


def private_postgres(*, replica: bool) -> PrivatePostgres:
    """A PrivatePostgres not started yet, or a skip saying why there can be none."""
    try:
        return PrivatePostgres(replica=replica)
    except Unavailable as error:
        pytest.skip(f"no private PostgreSQL: {error}")


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    try:
        server.start()
    except Unavailable as error:
        pytest.skip(str(error))
    yield server
    server.kill()


@pytest.fixture(scope="session")
def postgres_servers():
    """`.primary`, `.replica`, `.pause_replay()`, `.resume_replay()`, `.wait_replayed()`. A test that
    pauses replay resumes it."""
    with private_postgres(replica=True) as servers:
        yield servers


@pytest.fixture
def own_postgres():
    """`.primary.restart()`, `.primary.stop()`: under a running relay, say."""
    with private_postgres(replica=False) as servers:
        yield servers


@pytest.fixture
def varnish_in_front(tmp_path):
    """`varnish_in_front(site_port)` starts a Varnish (deploy/varnish/default.vcl) before that site."""
    started: list[VarnishServer] = []

    def start(site_port: int) -> VarnishServer:
        try:
            server = VarnishServer(backend_port=site_port)
        except Unavailable as error:
            pytest.skip(str(error))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()
