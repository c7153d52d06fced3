"""tools/harness: ports outside the ephemeral range, never handed out twice; a redis-server stopped,
killed and paused by the PID started here, on the port it was given."""

import os
import socket

import port_for
import pytest
import redis

from tools.harness import ports
from tools.harness.ports import quiet_port
from tools.harness.redis_servers import RedisServer


def _ephemeral(port: int) -> bool:
    return any(low <= port <= high for low, high in port_for.ephemeral.port_ranges())


def test_quiet_ports_lie_outside_the_ephemeral_range_and_are_never_handed_out_twice():
    handed = [quiet_port() for _ in range(50)]
    assert not [port for port in handed if _ephemeral(port)]
    assert len(set(handed)) == len(handed)


def test_a_quiet_port_with_an_offset_has_that_port_free_and_quiet_too():
    port = quiet_port(also_free=(10000,))
    assert not _ephemeral(port + 10000)
    assert not port_for.port_is_used(port + 10000)


def test_a_port_a_server_listens_on_is_not_handed_out(monkeypatch):
    busy, free = quiet_port(), quiet_port()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", busy))
        listening.listen()
        monkeypatch.setattr(ports, "_good_ports", lambda: frozenset({busy, free}))
        monkeypatch.setattr(ports, "_handed_out", set())
        assert quiet_port() == free
        with pytest.raises(RuntimeError):
            quiet_port()  # `free` was handed out, `busy` is taken


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_stopped_redis_server_is_gone_and_a_restarted_one_answers_on_the_same_port(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    pid, port = server.process.pid, server.port
    assert server.client().ping()
    server.kill()
    assert not _alive(pid)
    server.start()
    assert (server.port, server.client().ping()) == (port, True)
    pid = server.process.pid
    server.stop()
    assert not _alive(pid)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(port=port, socket_connect_timeout=0.5).ping()


def test_a_paused_redis_server_answers_nothing_until_resumed(own_redis):
    client = redis.Redis.from_url(own_redis.url, socket_timeout=0.3)
    own_redis.pause()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    own_redis.resume()
    assert client.ping()
