import redis

from tools import stack


def test_a_private_redis_is_started_when_none_answers_and_stopped_after(monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{stack.free_port()}/0")
    with stack.ensure_redis() as url:
        assert redis.Redis.from_url(url).ping()
        assert url != stack.os.environ["REDIS_URL"]
    assert not stack.redis_answers(url)


def test_a_redis_that_answers_is_used_as_it_is(monkeypatch, redis_client):
    kwargs = redis_client.connection_pool.connection_kwargs
    url = f"redis://{kwargs['host']}:{kwargs['port']}/0"
    monkeypatch.setenv("REDIS_URL", url)
    with stack.ensure_redis() as found:
        assert found == url
