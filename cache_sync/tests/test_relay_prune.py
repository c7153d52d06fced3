"""The relay prunes by the commit's clock: an entry is dropped only once every page it could
invalidate has expired, counted from when a relay first saw it (it is visible only once committed),
never from its statement's time (a long transaction commits long after it)."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from cache_sync.delivery import relay
from cache_sync.models import OutboxEntry
from cache_sync.signals import keys_invalidated
from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT, LEASE_TIMEOUT = 1, 0.1  # the pages' lifetime: horizon = 1.1 s without the clock margin


@pytest.fixture
def short_lived_pages(settings, monkeypatch):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "TIMEOUT": TIMEOUT, "LEASE_TIMEOUT": LEASE_TIMEOUT}
    monkeypatch.setattr(relay, "CLOCK_MARGIN", 0.0)


def one_relay_round() -> None:
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))


def test_a_long_transactions_change_is_delivered_not_pruned_though_its_statement_predates_the_horizon(
    short_lived_pages, cache_on, settings
):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    one_relay_round()  # a relay ran before the transaction committed: it saw nothing
    with transaction.atomic():
        Book.objects.update(title="Committed late")
        # The statement is older than TIMEOUT + LEASE_TIMEOUT when its transaction commits.
        OutboxEntry.objects.update(created_at=timezone.now() - timedelta(seconds=10 * TIMEOUT))
    one_relay_round()  # Redis away: the relay prunes what it may
    assert OutboxEntry.objects.filter(model="testapp.Book").exists()
    cache_on(live)
    delivered = []
    keys_invalidated.connect(lambda sender, keys, **kw: delivered.extend(keys), weak=False, dispatch_uid="prune")
    try:
        one_relay_round()
    finally:
        keys_invalidated.disconnect(dispatch_uid="prune")
    assert "book:odes" in delivered
    assert not OutboxEntry.objects.exists()


def test_entries_first_seen_before_the_horizon_are_pruned_renderable_or_not(short_lived_pages, cache_on):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    long_ago = timezone.now() - timedelta(seconds=10 * TIMEOUT)
    for model in ("testapp.Book", "removed.ForGood"):  # the second: a rule no release has any more
        OutboxEntry.objects.create(model=model, data='{"pk": 1}', seen_at=long_ago)
    recent = OutboxEntry.objects.create(model="removed.ForGood", data='{"pk": 2}', created_at=long_ago)
    one_relay_round()
    assert list(OutboxEntry.objects.values_list("pk", flat=True)) == [recent.pk]  # first seen only now
    assert OutboxEntry.objects.get().seen_at is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite blocks the relay's stamp behind the open write")
def test_a_transaction_held_open_past_the_horizon_by_another_thread_is_delivered_after_its_commit(
    short_lived_pages, cache_on, settings
):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    written, commit = threading.Event(), threading.Event()

    def long_transaction():
        try:
            with transaction.atomic():
                Book.objects.update(title="Committed late")  # now() is this transaction's start
                written.set()
                assert commit.wait(30)
        finally:
            connection.close()

    writer = threading.Thread(target=long_transaction)
    writer.start()
    assert written.wait(10)
    time.sleep(TIMEOUT + LEASE_TIMEOUT + 0.2)  # the horizon passes while the transaction is open
    one_relay_round()  # it sees nothing yet
    commit.set()
    writer.join(10)
    one_relay_round()  # Redis still away: the relay prunes what it may
    assert OutboxEntry.objects.filter(model="testapp.Book").exists()
    cache_on(live)
    one_relay_round()
    assert not OutboxEntry.objects.exists()
