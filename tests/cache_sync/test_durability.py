"""Committed writes reach the cache through crashes and outages: the outbox, the relay, Redis restarts."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from cache_sync import relay
from cache_sync.models import OutboxEntry
from catalog.models import Category, Product
from tests.factories import make_category, make_product
from website.stack import free_port

pytestmark = pytest.mark.django_db(transaction=True)

BASE_DIR = Path(__file__).resolve().parents[2]

# Commits an update, then stops dead before its invalidation reaches Redis: the test kills it there.
DYING_WRITER = """
import sys, time
import django
django.setup()
from cache_sync import store
from catalog.models import Product

def stop_before_redis(self, keys):
    print("committed", flush=True)
    time.sleep(60)

store.PageStore.invalidate = stop_before_redis
Product.objects.filter(slug="jade-teapot").update(price=sys.argv[1])
"""


@pytest.fixture
def teapot():
    return make_product(make_category("tea"), "jade-teapot", price=Decimal("10.00"))


def cached(client, url):
    client.get(url)
    assert client.get(url)["X-Cache"] == "hit"


def price_shown(client, url="/products/jade-teapot/") -> str:
    html = client.get(url).content.decode()
    return html.split("$", 1)[1].split("<", 1)[0]


def kill_writer_after_commit(site_env, price: str) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", DYING_WRITER, price], env=site_env, cwd=BASE_DIR, stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout.readline().strip() == b"committed"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)


def test_a_writer_killed_between_commit_and_redis_leaves_its_change_to_the_relay(client, teapot, site_env):
    cached(client, "/products/jade-teapot/")
    kill_writer_after_commit(site_env, "70.00")
    assert Product.objects.get(slug="jade-teapot").price == Decimal("70.00")  # committed
    assert price_shown(client) == "10.00"  # the stale page that the relay must clear
    assert OutboxEntry.objects.count() >= 1
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert price_shown(client) == "70.00"
    assert OutboxEntry.objects.count() == 0


def test_a_running_relay_delivers_a_killed_writers_change(client, teapot, site_env):
    cached(client, "/products/jade-teapot/")
    relay_process = subprocess.Popen(
        [sys.executable, "manage.py", "cache_sync", "relay"], env=site_env, cwd=BASE_DIR, stdout=subprocess.PIPE
    )
    try:
        assert b"Relaying" in relay_process.stdout.readline()
        kill_writer_after_commit(site_env, "71.00")
        deadline = time.monotonic() + 10
        while price_shown(client) != "71.00":
            assert time.monotonic() < deadline, "the relay did not deliver"
            time.sleep(0.01)
    finally:
        relay_process.send_signal(signal.SIGTERM)
        assert relay_process.wait(10) == 0


def test_a_command_that_could_not_reach_redis_leaves_its_change_to_the_relay(client, teapot, site_env):
    cached(client, "/products/jade-teapot/")
    no_redis = {**site_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    update = "from catalog.models import Product; Product.objects.filter(slug='jade-teapot').update(price=80)"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", update], env=no_redis, cwd=BASE_DIR, check=True)
    assert price_shown(client) == "10.00"  # other processes still reach Redis: stale until delivered
    out = StringIO()
    call_command("cache_sync", "stats", stdout=out)
    backlog = next(line.split()[1] for line in out.getvalue().splitlines() if line.startswith("outbox_backlog"))
    assert int(backlog) == OutboxEntry.objects.count() > 0
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert price_shown(client) == "80.00"


def test_relay_once_fails_clearly_and_keeps_the_changes_while_redis_is_away(teapot, cache_on):
    cache_on(f"redis://127.0.0.1:{free_port()}/0")
    Product.objects.filter(pk=teapot.pk).update(price=82)
    pending = OutboxEntry.objects.count()
    assert pending > 0
    with pytest.raises(CommandError, match="Redis unavailable"):
        call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert OutboxEntry.objects.count() == pending


def test_several_relays_deliver_everything_once_between_them(client, teapot, cache_on, settings):
    tea = teapot.category
    Product.objects.bulk_create(Product(name=f"Cup {n}", slug=f"cup-{n}", price=1, category=tea) for n in range(30))
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{free_port()}/0")
    for n in range(30):
        Product.objects.filter(slug=f"cup-{n}").update(price=2)  # 30 transactions, none delivered
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


def test_a_redis_restarted_from_its_snapshot_serves_no_page_invalidated_after_it(client, teapot, own_redis, cache_on):
    cache_on(own_redis.url)
    cached(client, "/products/jade-teapot/")
    own_redis.client().save()  # the snapshot holds the $10.00 page
    Product.objects.filter(pk=teapot.pk).update(price=90)  # invalidated after the snapshot
    own_redis.kill()
    own_redis.start()  # loads dump.rdb: the old page is back in memory
    assert own_redis.client().dbsize() > 0
    response = client.get("/products/jade-teapot/")
    assert (response["X-Cache"], price_shown(client)) == ("miss", "90.00")


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('sqlite') or not os.environ.get('DATABASE_URL')")
def test_keys_are_rendered_at_commit_so_a_rename_committed_meanwhile_is_seen(client, teapot):
    """PostgreSQL: a product transaction stays open while its category is renamed and committed."""
    product_saved, rename_committed = threading.Event(), threading.Event()

    def long_product_transaction():
        try:
            with transaction.atomic():
                Product.objects.filter(pk=teapot.pk).update(price=95)
                product_saved.set()
                assert rename_committed.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=long_product_transaction)
    writer.start()
    assert product_saved.wait(10)
    Category.objects.filter(slug="tea").update(slug="green-tea")
    cached(client, "/categories/green-tea/")  # shows $10.00: the product's change is not committed
    rename_committed.set()
    writer.join(10)
    assert "$95.00" in client.get("/categories/green-tea/").content.decode()


def test_a_page_built_inside_a_writing_transaction_is_not_stored(teapot):
    client = Client()
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.filter(pk=teapot.pk).update(price=99)
        assert price_shown(client) == "99.00"  # the writer sees its own change...
        raise RuntimeError("rolled back")
    response = client.get("/products/jade-teapot/")
    assert (response["X-Cache"], price_shown(client)) == ("miss", "10.00")  # ...nobody else ever does


def test_while_redis_is_away_the_relay_drops_only_entries_older_than_every_page(teapot, cache_on, settings):
    cache_on(f"redis://127.0.0.1:{free_port()}/0")
    Product.objects.filter(pk=teapot.pk).update(price=83)
    recent = OutboxEntry.objects.count()
    old = OutboxEntry.objects.create(model="catalog.Product", data='{"pk": 1}')
    horizon = settings.CACHE_SYNC["TIMEOUT"] + 5.0 + relay.CLOCK_MARGIN  # TTL + default lease + margin
    OutboxEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(seconds=horizon + 1))
    rounds = iter([False, True])
    relay.run("default", should_stop=lambda: next(rounds))  # one round: delivery fails, pruning runs
    assert OutboxEntry.objects.count() == recent
    assert not OutboxEntry.objects.filter(pk=old.pk).exists()


def test_a_page_read_in_a_transaction_whose_snapshot_may_predate_the_lease_is_not_stored(teapot, monkeypatch):
    """PostgreSQL REPEATABLE READ (and SQLite) take one snapshot per transaction, maybe before the lease."""
    client = Client()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            from django.db.backends.postgresql.psycopg_any import IsolationLevel

            monkeypatch.setattr(connection, "isolation_level", IsolationLevel.REPEATABLE_READ)
        client.get("/products/jade-teapot/")
    monkeypatch.undo()
    assert client.get("/products/jade-teapot/")["X-Cache"] == "miss"


@pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('sqlite') or not os.environ.get('DATABASE_URL')")
def test_a_page_read_in_a_read_committed_transaction_that_wrote_nothing_is_stored(teapot):
    client = Client()
    with transaction.atomic():
        client.get("/products/jade-teapot/")
    assert client.get("/products/jade-teapot/")["X-Cache"] == "hit"
