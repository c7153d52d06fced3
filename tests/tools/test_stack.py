import redis

from tools import stack
from tools.harness.ports import quiet_port


def test_a_private_redis_is_started_when_none_answers_and_stopped_after(monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{quiet_port()}/0")
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


def test_the_demo_admin_password_is_made_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setattr(stack, "RUN_DIR", tmp_path / ".run")
    first = stack.demo_admin_password()
    assert len(first) >= 16
    assert stack.demo_admin_password() == first
    assert (tmp_path / ".run" / "admin-password").stat().st_mode & 0o077 == 0


def test_the_redis_url_is_published_while_the_site_runs(monkeypatch, tmp_path):
    monkeypatch.setattr(stack, "RUN_DIR", tmp_path)
    with stack.published_redis_url("redis://127.0.0.1:7777/0"):
        assert (tmp_path / "redis-url").read_text().strip() == "redis://127.0.0.1:7777/0"
    assert not (tmp_path / "redis-url").exists()
