"""PostgreSQL: each writer delivers and deletes only its own entries (`writer = pg_backend_pid()`), and relays
share the work (`FOR UPDATE SKIP LOCKED`): an entry claimed by one relay is neither read nor waited for by another.
(On SQLite there is one writer at a time: these filters do not exist there.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from django.db import connection, transaction

import cache_sync
from cache_sync.capture import outbox
from cache_sync.capture.trigger_sql import OWN_ENTRIES
from cache_sync.delivery import relay
from cache_sync.models import OutboxEntry
from cache_sync.signals import keys_invalidated
from cache_sync.store.page_store import PageStore
from cache_sync.tests import factories
from cache_sync.tests.helpers import unacknowledged
from cache_sync.tests.testapp.models import Book

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's writer filters and row locks"),
]

ANOTHER_WRITER = 0  # no backend has pid 0: a writer that died before it delivered


def left_by_another_writer(slug: str) -> OutboxEntry:
    shelf = Book.objects.values_list("shelf_id", flat=True).first()
    data = json.dumps([{"pk": 0, "slug": slug, "shelf_id": shelf}])
    return OutboxEntry.objects.create(model="testapp.Book", data=data, writer=ANOTHER_WRITER)


@pytest.fixture
def delivered_keys() -> Iterator[list[str]]:
    keys: list[str] = []
    keys_invalidated.connect(lambda sender, **kw: keys.extend(kw["keys"]), weak=False, dispatch_uid="outbox_writers")
    yield keys
    keys_invalidated.disconnect(dispatch_uid="outbox_writers")


@pytest.fixture
def odes() -> Book:
    book = factories.book(factories.shelf("poetry"), "odes", "Odes")
    relay.deliver_all("default")  # its creation's entries, acknowledged by their writer: deleted
    return book


@pytest.mark.parametrize("told", [True, False], ids=["told", "read back"])
def test_a_writer_delivers_its_own_entries_not_another_writers(odes, delivered_keys, told):
    if not told:  # its triggers do not tell it its entries (delivery/own_entries.py): it reads them back
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', false)", [OWN_ENTRIES])
    other = left_by_another_writer("ghost")
    Book.objects.filter(slug="odes").update(title="Odes, revised")
    assert "book:odes" in delivered_keys
    assert "book:ghost" not in delivered_keys  # the relay's to deliver
    assert [entry.pk for entry in unacknowledged()] == [other.pk]


def test_a_writer_deletes_its_own_entries_not_the_undelivered_ones_of_another_writer_before_them(odes, monkeypatch):
    # Where Redis cannot order an acknowledgement after the invalidations (a cluster), the writer deletes.
    monkeypatch.setattr(PageStore, "acknowledges_with_invalidation", property(lambda self: False))
    other = left_by_another_writer("ghost")  # an older id than the writer's own entry
    Book.objects.filter(slug="odes").update(title="Odes, revised")
    assert list(OutboxEntry.objects.values_list("pk", flat=True)) == [other.pk]


def in_another_thread(work, *args) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """Runs `work(*args)` in a transaction of another connection, held open until `release` is set."""
    ready, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                work(*args)
                ready.set()
                assert release.wait(30)
        except BaseException as error:
            failures.append(error)
            ready.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert ready.wait(10) and not failures, failures
    return thread, ready, release


def test_entries_of_a_writer_in_suspended_survive_another_writers_suspended_block(odes):
    """Another writer's entries, committed during a `suspended()` block, stay for delivery (the block's own
    writes record none: its setting is its transaction's)."""
    committed = threading.Event()

    def another_writer() -> None:
        try:
            left_by_another_writer("ghost")
        finally:
            committed.set()
            connection.close()

    with cache_sync.suspended():
        Book.objects.filter(slug="odes").update(title="Seeded")
        thread = threading.Thread(target=another_writer)
        thread.start()
        assert committed.wait(10)
        thread.join(10)
    assert [json.loads(data)[0]["slug"] for data in OutboxEntry.objects.values_list("data", flat=True)] == ["ghost"]


def test_entries_claimed_by_one_relay_are_skipped_by_another(odes):
    for slug in ("ghost", "wraith"):
        left_by_another_writer(slug)
    claimed = []
    thread, _ready, release = in_another_thread(lambda: claimed.extend(outbox.claim_pending("default", 1)))
    try:
        with transaction.atomic():
            mine = outbox.claim_pending("default", 10)
    finally:
        release.set()
        thread.join(10)
    assert len(claimed) == 1
    assert [change.id for change in mine] != [change.id for change in claimed]
    assert len(mine) == 1


def test_the_relays_stamp_skips_entries_another_relay_is_delivering_instead_of_waiting(odes):
    for slug in ("ghost", "wraith"):
        left_by_another_writer(slug)
    thread, _ready, release = in_another_thread(lambda: outbox.claim_pending("default", 1))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")  # waiting would fail the test, not hang it
            stamped = outbox.mark_seen("default")
    finally:
        release.set()
        thread.join(10)
    assert stamped == 1
