"""Shared fixtures: a real Redis, isolated per test run and emptied between tests (tools/harness's fixtures)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from django.conf import settings

from tools.harness.pytest_cache import (  # noqa: F401  (fixtures)
    cache_on,
    empty_redis,
    page_family,
    redis_client,
    redis_round_trips,
    site_env,
)
from tools.harness.pytest_servers import own_redis, varnish_in_front  # noqa: F401  (fixtures)

TEST_REDIS_DB = int(os.environ.get("REDIS_TEST_DB", "15"))

# Before any cache connection exists: a database number and a prefix of this run's own.
_location = settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[0]
settings.CACHES["default"]["LOCATION"] = f"{_location}/{TEST_REDIS_DB}"
settings.CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"
# A login at full hashing strength costs this machine about a second; the tests check flows, not the hasher.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_test_db = settings.DATABASES["default"].get("TEST", {}).get("NAME")
if _test_db:
    Path(_test_db).parent.mkdir(exist_ok=True)
