"""Settings of cache_sync's own test suite: a small app of its own, SQLite or DATABASE_URL, a real Redis."""

import os
import tempfile
import uuid
from typing import Any
from urllib.parse import urlparse

SECRET_KEY = "cache-sync-tests"
DEBUG = False
ALLOWED_HOSTS = ["shelves.example"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "cache_sync",
    "cache_sync.tests.testapp",
]
MIDDLEWARE = [
    "cache_sync.front_door.FrontDoorMiddleware",
    "cache_sync.tests.testapp.middleware.CountingMiddleware",
    "cache_sync.tests.testapp.middleware.MarkingMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "cache_sync.tests.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]


def _database(url: str, suffix: str = "") -> dict:
    if not url or url.startswith("sqlite"):
        name = urlparse(url).path[1:] if url else os.path.join(tempfile.gettempdir(), "cache-sync.sqlite3")
        name = name.removesuffix(".sqlite3") + f"{suffix}.sqlite3" if suffix else name
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
            # A file, so that the processes a test starts share the test database.
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"cache-sync-test-{os.getpid()}{suffix}.sqlite3")},
        }
    parts = urlparse(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path[1:] + suffix.replace("-", "_"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
    }


# A second database of the same kind, used only by tests that ask for it (`databases=[..., "other"]`)
# and route models to it (test_relay_aliases.py): a site whose catalogue lives on a second alias.
# A child process started on a test database is told its URL (DATABASE_URL) and gets its
# "other" from OTHER_DATABASE_URL.
DATABASES = {
    "default": _database(os.environ.get("DATABASE_URL", "")),
    "other": (
        _database(os.environ["OTHER_DATABASE_URL"])
        if os.environ.get("OTHER_DATABASE_URL")
        else _database(os.environ.get("DATABASE_URL", ""), "-other")
    ),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{REDIS_URL.rsplit('/', 1)[0]}/{os.environ.get('CACHE_SYNC_TEST_REDIS_DB', '14')}",
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", f"cache-sync-test-{uuid.uuid4().hex[:8]}"),
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
    }
}

# The suite also runs against a Redis Cluster and behind Sentinel (`python -m tools.topology`).
TOPOLOGY = os.environ.get("CACHE_SYNC_TEST_TOPOLOGY", "single")
if TOPOLOGY == "cluster":
    CACHES["default"]["LOCATION"] = f"{REDIS_URL.rsplit('/', 1)[0]}/0"  # a cluster has database 0 only
    CACHES["default"]["OPTIONS"]["CLIENT_CLASS"] = "cache_sync.cluster.ClusterClient"
elif TOPOLOGY == "sentinel":
    CACHES["default"]["LOCATION"] = f"redis://{os.environ['CACHE_SYNC_TEST_SENTINEL_SERVICE']}/14"
    CACHES["default"]["OPTIONS"].update(
        CLIENT_CLASS="django_redis.client.SentinelClient",
        CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
        SENTINELS=[
            (host, int(port))
            for host, port in (address.split(":") for address in os.environ["CACHE_SYNC_TEST_SENTINELS"].split(","))
        ],
    )

CACHE_SYNC = {
    "BASE_URL": "https://shelves.example",
    "RULES": {
        "testapp.Book": {"keys": ["book:{slug}", "shelf:{shelf.slug}"], "fields": ["title", "slug", "shelf", "tags"]},
        "testapp.Shelf": {"keys": ["shelf:{slug}"], "related": {"books": ["book:{slug}"]}},
        "testapp.Tag": {"action": "rebuild", "keys": ["tag:{code}"]},
        # Signed-in visitors' records of the pages with holes (cache_sync/holes/): a login writes none of these.
        "auth.User": {"keys": ["visitor:{id}"], "fields": ["username", "password", "is_active"]},
    },
}
