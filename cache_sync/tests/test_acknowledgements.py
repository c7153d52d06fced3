"""A writer acknowledges what it delivered in Redis, in the invalidation's own round trip; the relay deletes
acknowledged entries in bulk without delivering them again, and delivers every entry nobody acknowledged."""

import os
import threading
import time

import pytest
from django.db import connection, connections, transaction

from cache_sync.delivery import acks, delivery, relay
from cache_sync.models import OutboxEntry
from cache_sync.signals import keys_invalidated
from cache_sync.store.breaker import StoreUnavailable
from cache_sync.store.page_store import PageStore, get_store
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page, unacknowledged
from cache_sync.tests.testapp.models import Book, Tag
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

# A cluster's nodes answer apart, so no pipeline orders an acknowledgement after every family: there
# writers delete their entries themselves (TestWhereRedisCannotOrderTheAcknowledgement) and acknowledge nothing.
acknowledging_redis = pytest.mark.skipif(
    os.environ.get("CACHE_SYNC_TEST_TOPOLOGY") == "cluster", reason="a Redis Cluster's writers acknowledge nothing"
)


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


@pytest.fixture
def invalidated():
    batches: list[tuple[str, ...]] = []
    keys_invalidated.connect(lambda sender, keys, **kw: batches.append(keys), weak=False, dispatch_uid="acks")
    yield batches
    keys_invalidated.disconnect(dispatch_uid="acks")


def acknowledgements(redis_client) -> dict[str, float]:
    store = get_store("default")
    name = acks.acknowledgements_key(store, "default")
    return {member.decode(): score for member, score in redis_client.zrange(name, 0, -1, withscores=True)}


@acknowledging_redis
def test_the_writer_acknowledges_its_entries_and_the_relay_deletes_them_without_delivering_again(
    client, odes, redis_client, invalidated
):
    cached(client, "/books/odes/")
    Book.objects.filter(slug="odes").update(title="Odes, acknowledged")
    entries = list(OutboxEntry.objects.values_list("id", flat=True))
    assert entries and set(acknowledgements(redis_client)) >= {str(i) for i in entries}
    assert unacknowledged() == []
    cached(client, "/books/odes/")  # a reader refilled the page after the writer's invalidation
    invalidated.clear()
    assert relay.deliver_all("default") == len(entries)
    assert not OutboxEntry.objects.exists()  # deleted in bulk
    assert client.get("/books/odes/")["X-Cache"] == "hit"  # not invalidated a second time
    assert invalidated == []
    assert acknowledgements(redis_client) == {}  # forgotten once their entries are gone


@acknowledging_redis
def test_a_delivery_of_several_round_trips_acknowledges_nothing_before_its_last(client, monkeypatch):
    """Its second round trip fails: every entry is left for the relay, none acknowledged before all
    its families were deleted (a delivery of more than PIPELINE_CHUNK keys)."""
    shelf = factories.shelf("poetry")
    for slug in ("odes", "elegies", "sonnets"):
        factories.book(shelf, slug, slug.title())
    relay.deliver_all("default")  # the creations' entries, acknowledged, deleted
    monkeypatch.setattr(delivery, "PIPELINE_CHUNK", 1)  # a round trip per key: four here
    calls = []
    invalidate = PageStore.invalidate

    def second_fails(self, families, **kwargs):
        calls.append(families)
        if len(calls) == 2:
            raise StoreUnavailable("the second round trip fails")
        return invalidate(self, families, **kwargs)

    monkeypatch.setattr(PageStore, "invalidate", second_fails)
    Book.objects.filter(shelf=shelf).update(title="Renamed")
    assert len(calls) == 2
    entries = OutboxEntry.objects.count()
    assert entries and len(unacknowledged()) == entries
    monkeypatch.undo()
    relay.deliver_all("default")
    assert not OutboxEntry.objects.exists()


def test_an_entry_whose_redis_call_failed_is_not_acknowledged_and_the_relay_delivers_it(
    client, odes, cache_on, settings, redis_client
):
    cached(client, "/books/odes/")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.filter(slug="odes").update(title="Odes, while away")
    cache_on(live)
    assert [entry.model for entry in unacknowledged()] == ["testapp.Book"]
    assert "while away" not in page(client, "/books/odes/")  # Redis kept the old page
    relay.deliver_all("default")
    assert "while away" in page(client, "/books/odes/")
    assert not OutboxEntry.objects.exists()


def test_a_writers_next_delivery_includes_its_entries_an_earlier_redis_call_failed_to_deliver(
    client, odes, cache_on, settings
):
    factories.book(factories.shelf("prose"), "sagas", "Sagas")
    cached(client, "/books/odes/")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.filter(slug="odes").update(title="Odes, while away")
    cache_on(live)
    Book.objects.filter(slug="sagas").update(title="Sagas, later")  # no key of the odes' pages
    assert "Odes, while away" in page(client, "/books/odes/")


@acknowledging_redis
def test_the_acknowledgement_is_sent_after_every_invalidation_of_its_pipeline(odes, monkeypatch):
    sent: list[list[str]] = []
    execute = PageStore.invalidate

    def recording(self, keys, **kwargs):
        from redis.client import Pipeline

        original = Pipeline.execute

        def capture(pipe, *args, **kw):
            sent.append([str(command[0]).upper() for command, _options in pipe.command_stack])
            return original(pipe, *args, **kw)

        monkeypatch.setattr(Pipeline, "execute", capture)
        try:
            return execute(self, keys, **kwargs)
        finally:
            monkeypatch.setattr(Pipeline, "execute", original)

    monkeypatch.setattr(PageStore, "invalidate", recording)
    Book.objects.filter(slug="odes").update(title="Odes, in order")
    [commands] = sent
    assert commands[-1] == "ZADD" and "UNLINK" in commands, commands


def test_a_writers_next_delivery_reads_only_the_entries_after_those_it_acknowledged(odes, invalidated):
    factories.book(odes.shelf, "sonnets", "Sonnets")
    Book.objects.filter(slug="odes").update(title="Odes, first")
    invalidated.clear()
    Book.objects.filter(slug="sonnets").update(title="Sonnets, second")
    [keys] = invalidated
    assert "book:sonnets" in keys and "book:odes" not in keys


@acknowledging_redis
def test_the_relays_housekeeping_forgets_acknowledgements_older_than_their_lifetime(odes, redis_client):
    Book.objects.filter(slug="odes").update(title="Odes, recent")
    name = acks.acknowledgements_key(get_store("default"), "default")
    old_ms = (time.time() - acks.ACKNOWLEDGEMENT_LIFETIME - 1) * 1000
    redis_client.zadd(name, {"999999": old_ms})  # left by a relay that delivered its entry first
    recent = set(acknowledgements(redis_client)) - {"999999"}
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))  # one round, its housekeeping included
    assert "999999" not in acknowledgements(redis_client)
    assert recent and not OutboxEntry.objects.exists()


def test_each_database_has_its_own_acknowledgements(settings):
    store = get_store("default")
    assert settings.DATABASES["other"]["NAME"] != settings.DATABASES["default"]["NAME"]
    assert acks.acknowledgements_key(store, "default") != acks.acknowledgements_key(store, "other")


class TestWhereRedisCannotOrderTheAcknowledgement:
    """A Redis Cluster's nodes answer apart, so a pipeline cannot put the acknowledgement after every
    family: there the writer deletes its entries itself, after Redis has their invalidation."""

    @pytest.fixture(autouse=True)
    def deleting_writer(self, monkeypatch):
        monkeypatch.setattr(PageStore, "acknowledges_with_invalidation", property(lambda self: False))

    def test_the_writer_deletes_its_delivered_entries(self, client, odes, redis_client):
        cached(client, "/books/odes/")
        Book.objects.filter(slug="odes").update(title="Odes, deleted")
        assert not OutboxEntry.objects.exists()
        assert acknowledgements(redis_client) == {}
        assert "Odes, deleted" in page(client, "/books/odes/")

    def test_an_entry_whose_redis_call_failed_is_kept(self, odes, cache_on):
        cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
        Book.objects.filter(slug="odes").update(title="Odes, offline")
        assert OutboxEntry.objects.filter(model="testapp.Book").exists()

    def test_the_writer_leaves_the_entries_of_models_it_has_no_rule_for(self, odes, settings):
        factories.tag("verse")
        rules = {label: rule for label, rule in settings.CACHE_SYNC["RULES"].items() if label != "testapp.Tag"}
        settings.CACHE_SYNC = {**settings.CACHE_SYNC, "RULES": rules}
        with transaction.atomic():
            Tag.objects.update(label="Verse, renamed")
            Book.objects.update(title="Odes, renamed")
        assert list(OutboxEntry.objects.values_list("model", flat=True)) == ["testapp.Tag"]

    def test_after_a_manual_commit_its_deletes_are_committed_too(self, odes):
        connection.set_autocommit(False)
        try:
            Book.objects.filter(slug="odes").update(title="Odes, by hand")
            connection.commit()
            seen = []

            def read() -> None:  # what another connection (a relay) finds
                seen.extend(OutboxEntry.objects.values_list("model", flat=True))
                connections.close_all()

            thread = threading.Thread(target=read)
            thread.start()
            thread.join()
            assert seen == []
        finally:
            connection.rollback()
            connection.set_autocommit(True)
