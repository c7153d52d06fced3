"""Surrogate keys on cached pages, and their purge: queued with the delivery, sent by the relay's
purger, kept while the edge is down or the purger is killed, never lost to a later write."""

import os
import signal
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from cache_sync.conf import get_config
from cache_sync.delivery import delivery
from cache_sync.edge import queue, transport
from cache_sync.edge.surrogate import MAX_LENGTH, surrogate_key
from cache_sync.tests.edge_servers import RecordingEdge
from cache_sync.tests.helpers import python_path
from cache_sync.tests.relay_threads import RunningRelay, eventually
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def edge_settings(settings, *urls):
    settings.CACHE_SYNC = {
        **settings.CACHE_SYNC,
        "EDGE": {"BACKEND": "cache_sync.edge.backends.Varnish", "OPTIONS": {"urls": list(urls)}},
    }


@pytest.fixture
def edge(monkeypatch):
    monkeypatch.setattr(transport, "FIRST_DELAY", 0.01)
    server = RecordingEdge().start()
    yield server
    server.stop()


def queued(using="default"):
    return {key for key, _stamp in queue.pending(using, 100)}


def test_a_cached_page_names_its_key_in_the_configured_header(settings, odes):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "EDGE": {"HEADER": "Surrogate-Key"}}
    miss, hit = Client().get("/books/odes/"), Client().get("/books/odes/")
    assert (miss["X-Cache"], hit["X-Cache"]) == ("miss", "hit")
    assert miss["Surrogate-Key"] == hit["Surrogate-Key"] == "book:odes"


def test_the_backend_names_the_header_when_none_is_set(settings, odes, edge):
    edge_settings(settings, edge.url)
    assert Client().get("/books/odes/")["xkey"] == "book:odes"


def test_without_an_edge_a_page_names_no_keys(odes):
    assert get_config().edge is None
    assert "xkey" not in Client().get("/books/odes/")


def test_a_key_no_edge_takes_as_it_is_is_sent_as_its_digest():
    assert surrogate_key("book:odes") == "book:odes"
    for odd in ("book:two words", "book:a,b", "book:é", "x" * (MAX_LENGTH + 1)):
        assert surrogate_key(odd).startswith("h:") and surrogate_key(odd) == surrogate_key(odd)
    assert surrogate_key("book:a,b") != surrogate_key("book:a b")


def test_a_write_queues_its_keys_with_the_removal_of_its_outbox_entries(settings, odes, edge):
    edge_settings(settings, edge.url)
    Book.objects.filter(pk=odes.pk).update(title="New Odes")
    assert queued() == {"book:odes", "shelf:poetry"}
    assert edge.calls == []  # the writer does not wait for the edge: the relay's purger sends them


def test_a_rolled_back_write_queues_nothing(settings, odes, edge):
    edge_settings(settings, edge.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        Book.objects.filter(pk=odes.pk).update(title="Never")
        raise RuntimeError
    assert queued() == set()


def test_without_a_backend_nothing_is_queued(settings, odes):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "EDGE": {"HEADER": "xkey"}}
    Book.objects.filter(pk=odes.pk).update(title="New Odes")
    assert queued() == set()


def test_the_relay_queues_the_keys_of_what_it_delivers(settings, odes, edge, monkeypatch):
    edge_settings(settings, edge.url)
    with monkeypatch.context() as patched:
        patched.setattr(delivery, "deliver_own_changes", lambda using: None)  # the writer delivers nothing
        Book.objects.filter(pk=odes.pk).update(title="Relayed")
    assert queued() == set()
    call_command("cache_sync", "relay", "--once", stdout=StringIO())
    assert sorted(edge.purged_keys()) == ["book:odes", "shelf:poetry"]
    assert queued() == set()


def test_the_running_relay_purges_the_edge_after_a_write(settings, odes, edge):
    edge_settings(settings, edge.url)
    with RunningRelay():
        Book.objects.filter(pk=odes.pk).update(title="New Odes")
        eventually(lambda: queued() == set(), "the purger purged")
    # At least once: the relay may deliver the entries too before the writer removes them.
    assert set(edge.purged_keys()) == {"book:odes", "shelf:poetry"}


def test_purges_wait_while_the_edge_is_down_and_go_out_when_it_is_back(settings, odes):
    down = RecordingEdge()  # its port: nothing listens there yet
    edge_settings(settings, down.url)
    with RunningRelay():
        Book.objects.filter(pk=odes.pk).update(title="New Odes")
        eventually(lambda: queued() == {"book:odes", "shelf:poetry"}, "queued")
        threading.Event().wait(0.5)  # purger rounds fail meanwhile
        assert queued() == {"book:odes", "shelf:poetry"}
        down.start()
        try:
            eventually(lambda: queued() == set(), "purged once the edge is back")
        finally:
            down.stop()
    assert sorted(set(down.purged_keys())) == ["book:odes", "shelf:poetry"]


def test_a_key_queued_again_while_its_purge_is_in_flight_stays_queued(odes):
    with transaction.atomic():
        queue.queue_purges("default", ["book:odes"])
    sent = queue.pending("default", 10)
    with transaction.atomic():
        queue.queue_purges("default", ["book:odes"])  # a later write, committed before the purge returns
    queue.forget("default", sent)
    assert queued() == {"book:odes"}
    queue.forget("default", queue.pending("default", 10))
    assert queued() == set()


def test_a_relay_killed_while_purging_leaves_the_purges_for_the_next(settings, odes, site_env):
    hanging = RecordingEdge(hold=threading.Event()).start()
    env = {
        **site_env,
        "DJANGO_SETTINGS_MODULE": "cache_sync.tests.settings",
        "PYTHONPATH": python_path(ROOT),
        "CACHE_SYNC_TEST_EDGE_URL": hanging.url,
    }
    relay = subprocess.Popen(
        [sys.executable, "-m", "django", "cache_sync", "relay"], env=env, cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert b"Relaying" in relay.stdout.readline()
        edge_settings(settings, hanging.url)
        Book.objects.filter(pk=odes.pk).update(title="New Odes")
        eventually(lambda: hanging.calls, "the relay's purger sent a purge")
    finally:
        os.kill(relay.pid, signal.SIGKILL)
        relay.wait(10)
        hanging.hold.set()
        hanging.stop()
    assert queued() == {"book:odes", "shelf:poetry"}  # the purge was sent, never answered: still queued
    answering = RecordingEdge().start()
    try:
        edge_settings(settings, answering.url)
        call_command("cache_sync", "relay", "--once", stdout=StringIO())
    finally:
        answering.stop()
    assert sorted(answering.purged_keys()) == ["book:odes", "shelf:poetry"]
    assert queued() == set()


@pytest.mark.parametrize(
    ("edge_option", "problem"),
    [
        ("not a dict", "cache_sync.E061"),
        ({"HEADER": "xkey", "TYPO": 1}, "cache_sync.E061"),
        ({"BACKEND": "no.such.Backend"}, "cache_sync.E062"),
        ({"BACKEND": "cache_sync.conf.Config"}, "cache_sync.E062"),
        ({"BACKEND": "cache_sync.edge.backends.Fastly", "OPTIONS": {"service_id": "s"}}, "cache_sync.E063"),
        ({"BACKEND": "cache_sync.edge.backends.Varnish", "OPTIONS": {"urls": "http://one"}}, "cache_sync.E063"),
        ({"HEADER": "two words"}, "cache_sync.E064"),
        ({}, "cache_sync.E064"),
    ],
)
def test_a_wrong_edge_setting_is_a_check_error_of_its_own(settings, edge_option, problem):
    from cache_sync.checks import check_cache_sync

    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "EDGE": edge_option}
    assert [error.id for error in check_cache_sync()] == [problem]


def test_a_right_edge_setting_passes_the_checks(settings, edge):
    from cache_sync.checks import check_cache_sync

    edge_settings(settings, edge.url)
    assert check_cache_sync() == []


def test_a_backend_that_cannot_be_made_stops_no_relay(settings, odes, caplog):
    settings.CACHE_SYNC = {
        **settings.CACHE_SYNC,
        "EDGE": {"BACKEND": "cache_sync.edge.backends.Fastly", "OPTIONS": {"service_id": "s"}},
    }
    with RunningRelay():
        Book.objects.filter(pk=odes.pk).update(title="New Odes")
        eventually(lambda: queued() == {"book:odes", "shelf:poetry"}, "queued for when the backend is fixed")
    assert "cannot be made" in caplog.text
