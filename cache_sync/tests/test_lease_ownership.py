"""A lease belongs to the reader that took it, and a hit is trusted only from the server its run was learnt from.

The release script frees only the caller's own lease: a reader whose lease expired and was taken over
must not free the next builder's. And a connection that reconnected while it read (to a server restored
from a snapshot, whose pages carry the old run's id) has its answer checked by the read script instead.
"""

from __future__ import annotations

import pytest

from cache_sync.conf import get_config
from cache_sync.store.page_store import PageStore, get_store
from tools.harness.redis_servers import RedisServer

LEASE_MS = 60_000


def store() -> PageStore:
    return get_store(get_config().cache_alias)


def test_releasing_a_lease_that_is_not_yours_leaves_it_to_its_builder():
    builder = store().read("book:odes", "v", guarded=True, lease_ms=LEASE_MS)
    assert builder.status == "build"
    store().release("book:odes", "v", "another-readers-token")
    assert store().read("book:odes", "v", guarded=True, lease_ms=LEASE_MS).status == "wait"
    store().release("book:odes", "v", builder.token)
    assert store().read("book:odes", "v", guarded=True, lease_ms=LEASE_MS).status == "build"


@pytest.fixture
def second_redis(tmp_path):
    (tmp_path / "second").mkdir()
    server = RedisServer(tmp_path / "second")
    server.start()
    yield server
    server.kill()


def test_a_hit_read_on_a_connection_that_reconnected_meanwhile_goes_through_the_read_script(
    own_redis, second_redis, cache_on
):
    cache_on(own_redis.url)
    pages = store()
    assert pages.store("book:odes", "v", b"old page", token="", ttl_ms=LEASE_MS)
    assert pages.read("book:odes", "v", guarded=True, lease_ms=LEASE_MS).status == "hit"  # learns the run
    # The second server holds the family as the first one's run stored it: a snapshot restored elsewhere.
    family = pages.family("book:odes")
    second_redis.client().hset(family, mapping=own_redis.client().hgetall(family))
    pool = pages.client.connection_pool
    connection = pool.get_connection()
    pool.release(connection)  # the pool's one connection, handed out again next
    send_packed_command = connection.send_packed_command  # what every command is sent with

    def reconnect_to_the_second_server(*args, **kwargs):
        connection.send_packed_command = send_packed_command
        connection.disconnect()
        connection.port = second_redis.port
        return send_packed_command(*args, **kwargs)  # reconnects (its connect callbacks run), then sends

    connection.send_packed_command = reconnect_to_the_second_server
    result = pages.read("book:odes", "v", guarded=True, lease_ms=LEASE_MS)
    assert connection.port == second_redis.port
    assert (result.status, result.page) == ("build", b"")  # the script dropped the other run's family
