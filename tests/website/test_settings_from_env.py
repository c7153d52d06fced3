import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']), 'host': db.get('HOST'), "
    "'debug': settings.DEBUG, 'secret': settings.SECRET_KEY, 'redis': settings.CACHES['default']['LOCATION'], "
    "'email': settings.EMAIL_BACKEND}))"
)


def settings_under(env: dict[str, str]) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "EMAIL_"))}
    base.pop("REDIS_URL", None)
    base["SILK_ROAD_RUN_DIR"] = str(ROOT / "tests" / "no-such-run-dir")  # what a running `make run` wrote: not here
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env={**base, "DJANGO_SETTINGS_MODULE": "website.settings", **env},
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_defaults_are_sqlite_local_redis_console_mail_and_no_debug():
    found = settings_under({})
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
    assert settings_under({"SILK_ROAD_RUN_DIR": str(tmp_path)})["redis"] == "redis://127.0.0.1:6543/0"
    both = {"SILK_ROAD_RUN_DIR": str(tmp_path), "REDIS_URL": "redis://elsewhere:6379/1"}
    assert settings_under(both)["redis"] == "redis://elsewhere:6379/1"
