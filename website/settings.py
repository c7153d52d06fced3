"""Settings of the Silk Road site, read from the environment (see README)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from website.client_address import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)
PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
# Public (it is in this file): anyone could forge sessions, messages and reset links signed with it.
DEV_ONLY_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if SECRET_KEY == DEV_ONLY_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is the public dev-only key: refusing to run with it while DJANGO_DEBUG is off. "
        "Set DJANGO_SECRET_KEY to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not SECRET_KEY and PRODUCTION:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set: with DJANGO_PRODUCTION on, every server must share one secret key. "
        "Set DJANGO_SECRET_KEY to a long random value (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not SECRET_KEY:
    from website.local_secret import local_secret_key

    # Debugging: the public key; else this checkout's own, made once in .run/secret_key.
    SECRET_KEY = DEV_ONLY_SECRET_KEY if DEBUG else local_secret_key()
ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if host.strip()
]

INSTALLED_APPS = [
    "accounts.apps.AccountsConfig",
    "catalog.apps.CatalogConfig",
    "cache_sync.apps.CacheSyncConfig",
    "silk_core.database_identity.apps.DatabaseIdentityConfig",
    "staff_api.apps.StaffApiConfig",
    "django_ratelimit",  # rate limits of the account forms (accounts/ratelimits.py), counted in the cache
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # First: answers anonymous hits before the rest of the stack, and stores pages after all of it.
    "cache_sync.front_door.FrontDoorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A lost database connection (a restart) in a view answers 503 with Retry-After, not 500.
    "website.unavailable.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "website.urls"
WSGI_APPLICATION = "website.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "website" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # 0 under gevent workers (make run): a connection kept by a finished greenlet would never be reused.
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent readers and a writer (gunicorn workers, load tests) need WAL and a busy wait.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not Django's default in-memory test database, so that processes a test starts share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".run" / f"test-db-{os.getpid()}.sqlite3")}


def run_file(name: str) -> str | None:
    """What `make run` (tools/stack.py) wrote under .run/ for commands started beside it."""
    path = Path(os.environ.get("SILK_ROAD_RUN_DIR", BASE_DIR / ".run")) / name
    if not path.is_file():
        return None
    return path.read_text().strip() or None


# Unset: the Redis of a running `make run` (which may have started its own), else the local default.
REDIS_URL = os.environ.get("REDIS_URL") or run_file("redis-url") or "redis://127.0.0.1:6379/0"
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "silkroad"),
        # <prefix>:<database identity>:<version>:<key>: a new database never meets another's pages.
        "KEY_FUNCTION": "silk_core.database_identity.keys.make_key",
        "OPTIONS": {
            # REDIS_CLUSTER=1: REDIS_URL names a node of a Redis Cluster (the load test's --topology cluster).
            "CLIENT_CLASS": (
                "cache_sync.cluster.ClusterClient"
                if os.environ.get("REDIS_CLUSTER", "") in ("1", "true")
                else "django_redis.client.DefaultClient"
            ),
            "PARSER_CLASS": "redis.connection._HiredisParser",
            # Short timeouts so that a Redis that went away or paused degrades to the database quickly
            # (cache_sync then skips Redis for CACHE_SYNC["REDIS_BACKOFF"] seconds in that process).
            "SOCKET_CONNECT_TIMEOUT": float(os.environ.get("REDIS_TIMEOUT", "0.05")),
            "SOCKET_TIMEOUT": float(os.environ.get("REDIS_TIMEOUT", "0.05")),
        },
    }
}

# Scheme and host of the site: activation links, and the pages cache_sync rebuilds itself.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# The load test's modes: sync (the product), or the baselines naive and ttl it is compared with.
CACHE_SYNC_LOAD_TEST_BASELINE = os.environ.get("CACHE_SYNC_STRATEGY", "sync")
CACHE_SYNC = {
    "CACHE": "default",
    "BASE_URL": SITE_URL,
    "TIMEOUT": int(os.environ.get("CACHE_SYNC_TIMEOUT", "600")),
    "RULES": {
        "catalog.Product": {
            "action": "invalidate",
            "keys": ["product:{slug}", "category:{category.slug}", "home"],
        },
        "catalog.Category": {
            "action": "invalidate",
            "keys": ["category:{slug}", "home"],
            "related": {"products": ["product:{slug}"]},
        },
        # A login writes last_login: not shown on the profile, so it rebuilds nothing.
        "accounts.User": {
            "action": "rebuild",
            # visitor:{id}: the visitor's nav and what signs them in (cache_sync holes), hence `password`.
            "keys": ["profile:{username}", "visitor:{id}"],
            "fields": ["username", "display_name", "bio", "is_active", "password"],
        },
    },
    # The profile shows `version` (its X-Data-Version), which a login raises too; refilling every
    # profile on each login is what `fields` spares, so the rule audit accepts that read.
    "AUDIT_IGNORE": ["accounts.User.version"],
}

# The proxies whose X-Forwarded-For the rate limits believe (addresses or CIDR networks); empty: none.
TRUSTED_PROXIES = parse_trusted_proxies(os.environ.get("DJANGO_TRUSTED_PROXIES", ""))
RATELIMIT_IP_META_KEY = "website.client_address.client_address"

# Production, behind an HTTPS proxy (nginx) that sets X-Forwarded-Proto: DJANGO_PRODUCTION=true (README, Production).
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# Signed cookies: a signed-in visitor's hit reads no database and no store to know who they are
# (cache_sync holes). A session holds the login only; a password change ends every session.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "catalog:home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Silk Road <noreply@silkroad.test>")

# Writers of the load test change data through the staff API with this token.
STAFF_API_TOKEN = os.environ.get("STAFF_API_TOKEN", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "website" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
