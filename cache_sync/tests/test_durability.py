"""Committed writes reach the cache through crashes and outages: the outbox, the relay, Redis restarts."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from cache_sync.delivery import relay
from cache_sync.models import OutboxEntry
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Book, Shelf
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]  # where `cache_sync` is importable from
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")

# Commits an update, then stops dead before its invalidation reaches Redis: the test kills it there.
DYING_WRITER = """
import sys, time
import django
django.setup()
from cache_sync.store import page_store as store
from cache_sync.tests.testapp.models import Book

def stop_before_redis(self, keys, **kwargs):
    print("committed", flush=True)
    time.sleep(60)

store.PageStore.invalidate = stop_before_redis
Book.objects.filter(slug="odes").update(title=sys.argv[1])
"""


def kill_writer_after_commit(env, title: str, before_the_kill=lambda: None) -> None:
    writer = subprocess.Popen([sys.executable, "-c", DYING_WRITER, title], env=env, cwd=ROOT, stdout=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == b"committed"
        before_the_kill()
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)


def manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


def test_a_writer_killed_between_commit_and_redis_leaves_its_change_to_the_relay(client, odes, child_env):
    cached(client, "/books/odes/")
    kill_writer_after_commit(child_env, "Killed Odes")
    assert Book.objects.get(slug="odes").title == "Killed Odes"  # committed
    assert "Killed Odes" not in page(client, "/books/odes/")  # the stale page the relay must clear
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert "Killed Odes" in page(client, "/books/odes/")
    assert OutboxEntry.objects.count() == 0


def test_a_running_relay_delivers_a_killed_writers_change(client, odes, child_env):
    cached(client, "/books/odes/")
    relay_process = None

    def start_relay():  # once the writer is stuck before Redis: a relay running at its commit could win
        nonlocal relay_process  # the race for its entries, and the writer would never reach Redis to be stuck
        relay_process = subprocess.Popen(manage("cache_sync", "relay"), env=child_env, cwd=ROOT, stdout=subprocess.PIPE)
        assert b"Relaying" in relay_process.stdout.readline()

    try:
        kill_writer_after_commit(child_env, "Relayed Odes", before_the_kill=start_relay)
        deadline = time.monotonic() + 10
        while "Relayed Odes" not in page(client, "/books/odes/"):
            assert time.monotonic() < deadline, "the relay did not deliver"
            time.sleep(0.01)
    finally:
        if relay_process is not None:
            relay_process.send_signal(signal.SIGTERM)
            assert relay_process.wait(10) == 0


def test_a_command_that_could_not_reach_redis_leaves_its_change_to_the_relay(client, odes, child_env):
    cached(client, "/books/odes/")
    no_redis = {**child_env, "REDIS_URL": f"redis://127.0.0.1:{quiet_port()}/0", "CACHE_SYNC_TEST_TOPOLOGY": "single"}
    update = "from cache_sync.tests.testapp.models import Book; Book.objects.update(title='Offline Odes')"
    subprocess.run(manage("shell", "-c", update), env=no_redis, cwd=ROOT, check=True)
    assert "Offline Odes" not in page(client, "/books/odes/")  # other processes reach Redis: stale until delivered
    out = StringIO()
    call_command("cache_sync", "stats", stdout=out)
    backlog = next(line.split()[1] for line in out.getvalue().splitlines() if line.startswith("outbox_backlog"))
    assert int(backlog) == OutboxEntry.objects.count() > 0
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert "Offline Odes" in page(client, "/books/odes/")


def test_relay_once_fails_clearly_and_keeps_the_changes_while_redis_is_away(odes, cache_on):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="Kept")
    pending = OutboxEntry.objects.count()
    assert pending > 0
    with pytest.raises(CommandError, match="Redis unavailable"):
        call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert OutboxEntry.objects.count() == pending


def test_several_relays_deliver_everything_between_them(odes, cache_on, settings):
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    for n in range(30):
        Book.objects.filter(slug="odes").update(title=f"Odes {n}")  # 30 transactions, none delivered
    pending = OutboxEntry.objects.count()
    assert pending >= 30
    cache_on(live)
    delivered = []

    def run_relay():
        try:
            while n := relay.deliver_pending("default", limit=3):
                delivered.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(delivered) == pending
    assert OutboxEntry.objects.count() == 0


def test_while_redis_is_away_the_relay_drops_only_entries_older_than_every_page(odes, cache_on, settings):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="Recent")
    recent = OutboxEntry.objects.count()
    old = OutboxEntry.objects.create(model="testapp.Book", data='{"pk": 1}')
    horizon = 600 + 5.0 + relay.CLOCK_MARGIN  # default TIMEOUT + LEASE_TIMEOUT + margin
    OutboxEntry.objects.filter(pk=old.pk).update(seen_at=timezone.now() - timedelta(seconds=horizon + 1))
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))  # one round: delivery fails, pruning runs
    assert OutboxEntry.objects.count() == recent
    assert not OutboxEntry.objects.filter(pk=old.pk).exists()


def test_a_redis_restarted_from_its_snapshot_serves_no_page_invalidated_after_it(client, odes, own_redis, cache_on):
    cache_on(own_redis.url)
    cached(client, "/books/odes/")
    own_redis.client().save()  # the snapshot holds the old page
    Book.objects.update(title="After the snapshot")
    own_redis.kill()
    own_redis.start()  # loads dump.rdb: the old page is back in memory
    assert own_redis.client().dbsize() > 0
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "miss"
    assert "After the snapshot" in response.content.decode()


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite runs one write transaction at a time: no interleaving")
def test_a_rename_of_the_shelf_while_a_book_transaction_is_open_never_leaves_its_page_stale(client, odes):
    """The book's statement has read (and told its writer) the shelf's slug: a rename must not commit, and a
    page under the new slug be filled with the old book, before the book's commit."""
    book_saved, commit_book, renamed = threading.Event(), threading.Event(), threading.Event()

    def long_book_transaction():
        try:
            with transaction.atomic():
                Book.objects.filter(pk=odes.pk).update(title="Late Odes")
                book_saved.set()
                assert commit_book.wait(10)
        finally:
            connection.close()

    def rename():
        try:
            Shelf.objects.filter(slug="poetry").update(slug="verse")
            renamed.set()
        finally:
            connection.close()

    writer, renamer = threading.Thread(target=long_book_transaction), threading.Thread(target=rename)
    writer.start()
    assert book_saved.wait(10)
    renamer.start()
    if renamed.wait(0.5):  # not with the shelf locked by the book's statement: the rename waits for its commit
        cached(client, "/shelves/verse/")  # would show "Odes": the book's change is not committed
    commit_book.set()
    writer.join(10)
    renamer.join(10)
    assert "Late Odes" in page(client, "/shelves/verse/")


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite runs one write transaction at a time: no interleaving")
def test_keys_are_rendered_at_commit_so_a_rename_committed_meanwhile_is_seen(client, odes):
    """The shelf is renamed (held, uncommitted) before the book's statement, and committed while the book
    transaction is open: the book's statement skips the held shelf, and its writer reads the slug after
    its commit."""
    held, commit_rename, book_saved, commit_book = (threading.Event() for _ in range(4))

    def rename_transaction():
        try:
            with transaction.atomic():
                Shelf.objects.filter(slug="poetry").update(slug="verse")
                held.set()
                assert commit_rename.wait(10)
        finally:
            connection.close()

    def long_book_transaction():
        try:
            with transaction.atomic():
                Book.objects.filter(pk=odes.pk).update(title="Late Odes")
                book_saved.set()
                assert commit_book.wait(10)
        finally:
            connection.close()

    renamer, writer = threading.Thread(target=rename_transaction), threading.Thread(target=long_book_transaction)
    renamer.start()
    assert held.wait(10)
    writer.start()
    assert book_saved.wait(10), "the book's statement waited for the held shelf"
    commit_rename.set()
    renamer.join(10)
    cached(client, "/shelves/verse/")  # shows "Odes": the book's change is not committed
    commit_book.set()
    writer.join(10)
    assert "Late Odes" in page(client, "/shelves/verse/")


def test_a_page_built_inside_a_writing_transaction_is_not_stored(odes):
    client = Client()
    with pytest.raises(RuntimeError), transaction.atomic():
        Book.objects.update(title="Uncommitted")
        assert "Uncommitted" in page(client, "/books/odes/")  # the writer sees its own change...
        raise RuntimeError("rolled back")
    response = client.get("/books/odes/")
    assert response["X-Cache"] == "miss"
    assert "Uncommitted" not in response.content.decode()  # ...nobody else ever does


def test_a_page_read_in_a_transaction_whose_snapshot_may_predate_the_lease_is_not_stored(odes, monkeypatch):
    """PostgreSQL REPEATABLE READ (and SQLite) take one snapshot per transaction, maybe before the lease."""
    client = Client()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            from django.db.backends.postgresql.psycopg_any import IsolationLevel

            monkeypatch.setattr(connection, "isolation_level", IsolationLevel.REPEATABLE_READ)
        Book.objects.count()  # the transaction's snapshot, taken before the lease
        client.get("/books/odes/")
    monkeypatch.undo()
    assert client.get("/books/odes/")["X-Cache"] == "miss"


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite transactions keep one snapshot")
def test_a_page_read_in_a_read_committed_transaction_that_wrote_nothing_is_stored(odes):
    client = Client()
    with transaction.atomic():
        client.get("/books/odes/")
    assert client.get("/books/odes/")["X-Cache"] == "hit"
