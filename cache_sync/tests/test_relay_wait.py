"""A writer cut off from a Redis that others still reach waits for a live relay before it answers.

The writer is a process of its own pointed at a Redis port nobody listens on; the relay and
the readers (this test) reach the real one. The relay is paused (SIGSTOP) while the writer
writes, so that only a writer that waits is still running when it is resumed.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cache_sync.models import OutboxEntry, RelayHeartbeat
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page, unacknowledged
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]

# Renames the book through a Redis that does not answer; RELAY_WAIT from argv.
CUT_OFF_WRITER = """
import sys
import django
django.setup()
from django.conf import settings
from django.test.utils import override_settings
from cache_sync.tests.testapp.models import Book

with override_settings(CACHE_SYNC={**settings.CACHE_SYNC, "RELAY_WAIT": float(sys.argv[2])}):
    Book.objects.filter(slug="odes").update(title=sys.argv[1])
print("written", flush=True)
"""


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


@pytest.fixture
def cut_off_env(child_env):
    return {**child_env, "REDIS_URL": f"redis://127.0.0.1:{quiet_port()}/0", "CACHE_SYNC_TEST_TOPOLOGY": "single"}


@pytest.fixture
def paused_relay(child_env):
    """A running relay that has beaten once (its last round reached Redis), then paused by its PID."""
    relay = subprocess.Popen(
        [sys.executable, "-m", "django", "cache_sync", "relay"], env=child_env, cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert b"Relaying" in relay.stdout.readline()
        deadline = time.monotonic() + 20
        while not RelayHeartbeat.objects.filter(error="").exists():
            assert time.monotonic() < deadline, "the relay wrote no heartbeat"
            time.sleep(0.02)
        os.kill(relay.pid, signal.SIGSTOP)
        yield relay
    finally:
        os.kill(relay.pid, signal.SIGCONT)
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(20) == 0


def write(env, title: str, relay_wait: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CUT_OFF_WRITER, title, str(relay_wait)], env=env, cwd=ROOT, stdout=subprocess.PIPE
    )


def test_a_cut_off_writer_answers_only_once_the_relay_delivered_its_change(client, odes, cut_off_env, paused_relay):
    cached(client, "/books/odes/")
    writer = write(cut_off_env, "Waited Odes", relay_wait=60)
    time.sleep(1.0)  # long enough for a writer that does not wait to have finished
    assert writer.poll() is None, "the writer answered while the relay could not have delivered"
    os.kill(paused_relay.pid, signal.SIGCONT)
    assert writer.stdout.readline().strip() == b"written"
    assert writer.wait(30) == 0
    assert "Waited Odes" in page(client, "/books/odes/")  # no window: delivered before the writer answered
    assert not OutboxEntry.objects.exists()


def test_without_a_live_relay_a_cut_off_writer_does_not_wait(client, odes, cut_off_env):
    cached(client, "/books/odes/")
    writer = write(cut_off_env, "Unwaited Odes", relay_wait=60)
    assert writer.wait(30) == 0  # far less than RELAY_WAIT: no heartbeat, so nobody to wait for
    assert "Unwaited Odes" not in page(client, "/books/odes/")  # left to the relay, as before
    assert unacknowledged()


def test_a_relay_whose_last_round_failed_is_not_waited_for(client, odes, cut_off_env, paused_relay):
    RelayHeartbeat.objects.update(error="Redis unavailable: refused")
    writer = write(cut_off_env, "Odes in an outage", relay_wait=60)
    assert writer.wait(30) == 0
    assert unacknowledged()


def test_a_relay_silent_for_long_is_not_waited_for(client, odes, cut_off_env, paused_relay):
    RelayHeartbeat.objects.update(beat_at=timezone.now() - timedelta(hours=1))
    writer = write(cut_off_env, "Odes, relay gone", relay_wait=60)
    assert writer.wait(30) == 0
    assert unacknowledged()


def test_relay_wait_zero_never_waits(client, odes, cut_off_env, paused_relay):
    writer = write(cut_off_env, "Odes, not waited", relay_wait=0)
    assert writer.wait(30) == 0
    assert unacknowledged()
