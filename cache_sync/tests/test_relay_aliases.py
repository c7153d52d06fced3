"""Several databases: the test app's tables routed to a second alias, "other" (a site whose catalogue
lives there); explicit keys stay on "default". Catch-up and the relay cover every alias with an outbox."""

import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command

from cache_sync import invalidate_keys
from cache_sync.delivery import relay
from cache_sync.delivery.delivery import outbox_aliases
from cache_sync.models import OutboxEntry
from cache_sync.store.breaker import breaker
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.relay_threads import eventually
from cache_sync.tests.testapp.models import Book
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


class TestappOnOther:
    """Routes the test app's models to "other"; everything else (the outbox of explicit keys) to "default"."""

    def db_for_read(self, model, **hints):
        return "other" if model._meta.app_label == "testapp" else None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return True


@pytest.fixture
def on_other(settings):
    settings.DATABASE_ROUTERS = [f"{__name__}.TestappOnOther"]
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    assert Book.objects.using("other").exists() and not Book.objects.using("default").exists()


def pending() -> dict[str, int]:
    return {alias: OutboxEntry.objects.using(alias).count() for alias in ("default", "other")}


def test_the_outbox_aliases_are_where_the_rules_models_are_written_and_the_default(on_other):
    assert outbox_aliases() == ["default", "other"]


def test_after_a_redis_outage_a_reader_catches_up_every_databases_outbox(
    client, on_other, own_redis, cache_on, settings
):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "REDIS_BACKOFF": 0.2}
    cache_on(own_redis.url)
    cached(client, "/books/odes/")
    own_redis.pause()
    try:
        Book.objects.update(title="Renamed while Redis was paused")  # on "other"; its writer times out
        invalidate_keys(["home"])  # on "default", skipped while the breaker is open
        assert pending() == {"default": 1, "other": 1}
    finally:
        own_redis.resume()
    eventually(lambda: time.monotonic() > breaker.open_until, "the breaker closes")
    assert "while Redis was paused" in page(client, "/books/odes/")  # the old page was still in Redis
    assert pending() == {"default": 0, "other": 0}


def test_the_relay_without_a_database_delivers_every_alias(on_other, cache_on, settings):
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="Renamed while Redis was away")
    invalidate_keys(["home"])
    assert pending() == {"default": 1, "other": 1}
    cache_on(live)
    call_command("cache_sync", "relay", "--once", "--database", "default", stdout=StringIO())
    assert pending() == {"default": 0, "other": 1}
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert pending() == {"default": 0, "other": 0}


def test_one_running_relay_delivers_every_alias_each_in_its_thread(on_other):
    stop = threading.Event()
    every = threading.Thread(target=relay.run_every, args=(outbox_aliases(),), kwargs={"should_stop": stop.is_set})
    every.start()
    try:
        for alias in ("default", "other"):  # entries no writer delivers
            OutboxEntry.objects.using(alias).create(model="cache_sync.keys", data='{"keys": ["home"]}')
        eventually(lambda: pending() == {"default": 0, "other": 0}, "both outboxes delivered")
    finally:
        stop.set()
        every.join(30)
    assert not every.is_alive()
