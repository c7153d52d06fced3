import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST'), "
    "'debug': settings.DEBUG, 'secret': settings.SECRET_KEY, 'redis': settings.CACHES['default']['LOCATION'], "
    "'email': settings.EMAIL_BACKEND}))"
)


STRONG_KEY = "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def run_under(env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_"))}
    base.pop("REDIS_URL", None)
    base["SILK_ROAD_RUN_DIR"] = str(ROOT / "tests" / "no-such-run-dir")  # what a running `make run` wrote: not here
    return subprocess.run(
        [sys.executable, *command],
        env={**base, "DJANGO_SETTINGS_MODULE": "website.settings", **env},
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip


def settings_under(env: dict[str, str]) -> dict:
    result = run_under(env, "-c", PRINT_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_defaults_are_sqlite_local_redis_console_mail_and_no_debug():
    found = settings_under({"DJANGO_SECRET_KEY": STRONG_KEY})
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"].endswith("db.sqlite3")
    assert found["redis"] == "redis://127.0.0.1:6379/0"
    assert found["email"] == "django.core.mail.backends.console.EmailBackend"
    assert found["debug"] is False


def test_environment_configures_database_redis_secret_and_debug():
    found = settings_under(
        {
            "DATABASE_URL": "postgres://postgres@db.example:5432/shop",
            "REDIS_URL": "redis://cache.example:6380/2",
            "DJANGO_SECRET_KEY": "s3cret",
            "DJANGO_DEBUG": "true",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        }
    )
    assert (found["engine"], found["name"], found["host"]) == ("django.db.backends.postgresql", "shop", "db.example")
    assert found["redis"] == "redis://cache.example:6380/2"
    assert found["secret"] == "s3cret"
    assert found["debug"] is True
    assert found["email"] == "django.core.mail.backends.smtp.EmailBackend"


def test_without_redis_url_the_redis_of_a_running_make_run_is_used(tmp_path):
    (tmp_path / "redis-url").write_text("redis://127.0.0.1:6543/0\n")
    found = settings_under({"SILK_ROAD_RUN_DIR": str(tmp_path), "DJANGO_SECRET_KEY": STRONG_KEY})
    assert found["redis"] == "redis://127.0.0.1:6543/0"
    both = {"SILK_ROAD_RUN_DIR": str(tmp_path), "REDIS_URL": "redis://elsewhere:6379/1"}
    assert settings_under({**both, "DJANGO_SECRET_KEY": STRONG_KEY})["redis"] == "redis://elsewhere:6379/1"


def test_the_public_key_is_refused_when_debug_is_off():
    result = run_under({"DJANGO_SECRET_KEY": "dev-only-insecure-key-change-me-in-production"}, "-c", PRINT_SETTINGS)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is the public dev-only key" in result.stderr


@pytest.mark.parametrize("key", [None, "", "  "])
def test_in_production_the_site_refuses_to_start_without_a_secret_key(key):
    env = {"DJANGO_PRODUCTION": "true"} if key is None else {"DJANGO_PRODUCTION": "true", "DJANGO_SECRET_KEY": key}
    for command in (["-c", PRINT_SETTINGS], ["-c", "import website.wsgi"]):
        result = run_under(env, *command)
        assert result.returncode != 0
        assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


def test_without_a_secret_key_a_checkout_uses_its_own_kept_in_the_run_folder(tmp_path):
    run_dir = {"SILK_ROAD_RUN_DIR": str(tmp_path)}
    first, again = settings_under(run_dir)["secret"], settings_under(run_dir)["secret"]
    assert first == again == (tmp_path / "secret_key").read_text()
    assert first != "dev-only-insecure-key-change-me-in-production" and len(first) >= 50
    assert run_under(run_dir, "manage.py", "check").returncode == 0


def test_with_debug_on_the_dev_only_key_is_allowed():
    found = settings_under({"DJANGO_DEBUG": "true"})
    assert found["secret"] == "dev-only-insecure-key-change-me-in-production"


PRODUCTION = {
    "DJANGO_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": STRONG_KEY,
    "DJANGO_ALLOWED_HOSTS": "shop.example.org",
    "SITE_URL": "https://shop.example.org",
    "DJANGO_TRUSTED_PROXIES": "127.0.0.1",
}


def test_the_documented_production_settings_pass_check_deploy_without_a_warning():
    result = run_under(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("security_check", ["W004", "W008", "W012", "W016"])
def test_without_the_production_flag_check_deploy_warns(security_check):
    result = run_under({**PRODUCTION, "DJANGO_PRODUCTION": "false"}, "manage.py", "check", "--deploy")
    assert f"security.{security_check}" in result.stderr + result.stdout


def test_trusted_proxies_come_from_the_environment_and_the_rate_limits_use_them():
    show = "import django; from django.conf import settings; django.setup(); "
    show += "print(settings.TRUSTED_PROXIES, settings.RATELIMIT_IP_META_KEY)"
    by_default = run_under({"DJANGO_SECRET_KEY": STRONG_KEY}, "-c", show)
    assert by_default.stdout.split()[0] == "()", by_default.stderr  # no proxy trusted unless configured
    result = run_under({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}, "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["('127.0.0.1/32',", "'10.0.0.0/8')", "website.client_address.client_address"]


def test_an_invalid_trusted_proxy_stops_the_site_at_start_naming_the_variable():
    env = {"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_TRUSTED_PROXIES": "nginx.internal"}
    result = run_under(env, "manage.py", "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_TRUSTED_PROXIES: 'nginx.internal' is not an IP address" in result.stderr
