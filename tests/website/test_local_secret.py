import stat

import pytest

from tools import stack
from website import local_secret


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SILK_ROAD_RUN_DIR", str(tmp_path / ".run"))
    return tmp_path / ".run" / "secret_key"


def test_the_local_key_is_made_once_kept_private_and_reused(key_file):
    key = local_secret.local_secret_key()
    assert len(key) >= 50
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert local_secret.local_secret_key() == key
    assert list(key_file.parent.iterdir()) == [key_file]  # no draft left behind


def test_a_key_in_the_environment_wins(key_file):
    assert local_secret.with_local_secret_key({"DJANGO_SECRET_KEY": "mine"}) == {"DJANGO_SECRET_KEY": "mine"}
    assert not key_file.exists()


@pytest.mark.parametrize("action", [["run"], ["exec", "--", "true"]])
def test_make_run_and_make_test_pass_the_local_key_to_what_they_start(key_file, monkeypatch, redis_client, action):
    kwargs = redis_client.connection_pool.connection_kwargs
    monkeypatch.setenv("REDIS_URL", f"redis://{kwargs['host']}:{kwargs['port']}/0")
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    seen = []
    monkeypatch.setattr(stack, "serve", lambda env, bind: seen.append(env) or 0)
    monkeypatch.setattr(stack, "run_command", lambda command, env: seen.append(env) or 0)
    assert stack.main(action) == 0
    assert seen[0]["DJANGO_SECRET_KEY"] == key_file.read_text()
