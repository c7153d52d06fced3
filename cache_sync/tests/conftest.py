from pathlib import Path

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
def child_env(site_env):  # noqa: F811  (the fixture imported above)
    """The environment of a child process (manage.py, a writer, a relay) on this test's database and
    Redis, with cache_sync's test settings."""
    from cache_sync.tests.helpers import python_path

    return {
        **site_env,
        "DJANGO_SETTINGS_MODULE": "cache_sync.tests.settings",
        "PYTHONPATH": python_path(Path(__file__).resolve().parents[2]),
    }


@pytest.fixture
def odes():
    """A book, "Odes", on the "poetry" shelf of the test app."""
    from cache_sync.tests import factories

    return factories.book(factories.shelf("poetry"), "odes", "Odes")


@pytest.fixture
def invalidated():
    """The keys every delivery announces (keys_invalidated) during the test."""
    from cache_sync.signals import keys_invalidated

    keys: list[str] = []

    def receive(sender, **kwargs):
        keys.extend(kwargs["keys"])

    keys_invalidated.connect(receive)
    yield keys
    keys_invalidated.disconnect(receive)


@pytest.fixture
def app():
    """The test app's WSGI application behind cache_sync's front door."""
    from django.core.wsgi import get_wsgi_application

    from cache_sync.wsgi import front_door

    return front_door(get_wsgi_application())


@pytest.fixture
def requests_django_handled():
    """Counts the requests that reached Django's handler (a hit answered before it adds none)."""
    handled = []

    def count(**kwargs):
        handled.append(1)

    request_started.connect(count)
    yield handled
    request_started.disconnect(count)


@pytest.fixture(autouse=True)
def empty_outbox(request, django_db_blocker):
    """Every test that uses the database starts with an empty outbox. Django's flush after a transactional
    test deletes the watched tables' rows, and its own connection delivers and acknowledges the entries
    that records (cache_sync/delivery/acks.py); a running relay would delete them, none runs between tests, and
    the next test's empty Redis has forgotten the acknowledgements."""
    if request.node.get_closest_marker("django_db"):
        from cache_sync.models import OutboxEntry

        with django_db_blocker.unblock():
            OutboxEntry.objects.all().delete()
    yield
