import pytest
from django.core.signals import request_started

from tools.harness.pytest_cache import (  # noqa: F401  (fixtures)
    cache_on,
    empty_redis,
    page_family,
    redis_client,
    redis_round_trips,
    site_env,
)
from tools.harness.pytest_servers import own_postgres, own_redis, postgres_servers  # noqa: F401  (fixtures)


@pytest.fixture
def requests_django_handled():
    """Counts the requests that reached Django's handler (a hit answered before it adds none)."""
    handled = []

    def count(**kwargs):
        handled.append(1)

    request_started.connect(count)
    yield handled
    request_started.disconnect(count)
