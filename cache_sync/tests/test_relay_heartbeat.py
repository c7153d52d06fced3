"""The relay's heartbeat, in the database: `cache_sync stats` and `check --deploy --database` read it,
with Redis away too."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.utils import timezone

from cache_sync.delivery import relay
from cache_sync.models import OutboxEntry, RelayHeartbeat
from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)


def one_relay_round() -> None:
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))


RELAY_WARNINGS = "cache_sync.W03"  # (the suite's db sessions also raise W042: its pages with holes)


def relay_warnings() -> list[str]:
    """The ids of the relay's deploy warnings (W03x), as `check --deploy --database default` finds them."""
    found = run_checks(include_deployment_checks=True, databases=["default"])
    return [message.id for message in found if message.id and message.id.startswith(RELAY_WARNINGS)]


def test_a_relay_round_records_its_heartbeat_in_the_database():
    OutboxEntry.objects.create(model="removed.ForGood", data='{"pk": 1}')
    one_relay_round()
    beat = RelayHeartbeat.objects.get()
    assert beat.caught_up_at is not None and beat.error == ""
    assert (beat.backlog, beat.unrenderable) == (1, 1)  # left for a release that can render it


def claims(monkeypatch, sizes):
    """Make the relay's claims return these sizes (then none), as under writes that never pause; the calls."""
    calls = []
    sizes = iter(sizes)

    def claimed(using, limit=relay.CLAIM_LIMIT, labels=None):
        calls.append(using)
        return next(sizes, 0)

    monkeypatch.setattr(relay, "deliver_pending", claimed)
    return calls


def test_under_writes_that_never_pause_a_relay_round_ends_once_it_has_caught_up_and_beats(monkeypatch):
    calls = claims(monkeypatch, [7] * 50)  # every claim finds new entries, never a full batch
    waits = []
    monkeypatch.setattr(relay.waiters, "open_waiter", lambda using: lambda: waits.append(using))
    one_relay_round()
    assert len(calls) == 1  # all there was at its claim: caught up
    assert RelayHeartbeat.objects.get().caught_up_at is not None
    assert waits == ["default"]  # then it waits for the next notification


def test_a_relay_working_through_a_backlog_beats_without_saying_it_caught_up_and_goes_on_at_once(monkeypatch):
    monkeypatch.setattr(relay, "HOUSEKEEPING_EVERY", 0.0)  # its time for a round's delivery, before it beats
    calls = claims(monkeypatch, [relay.CLAIM_LIMIT] * 50)  # full claims: a backlog
    waits = []
    monkeypatch.setattr(relay.waiters, "open_waiter", lambda using: lambda: waits.append(using))
    one_relay_round()
    assert len(calls) == 1
    assert RelayHeartbeat.objects.get().caught_up_at is None
    assert waits == []  # no notification awaited with a backlog left


def test_check_deploy_warns_while_no_relay_has_beaten_recently():
    assert relay_warnings() == ["cache_sync.W030"]  # never ran
    one_relay_round()
    assert relay_warnings() == []
    RelayHeartbeat.objects.update(beat_at=timezone.now() - timedelta(minutes=5))
    assert relay_warnings() == ["cache_sync.W030"]


def test_check_deploy_warns_when_the_relay_beats_but_cannot_deliver(cache_on):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="Waiting")
    one_relay_round()
    assert RelayHeartbeat.objects.get().error.startswith("Redis unavailable")
    assert relay_warnings() == ["cache_sync.W031"]


def test_deploy_checks_without_a_database_leave_the_relay_alone():
    assert not [m for m in run_checks(include_deployment_checks=True) if m.id.startswith(RELAY_WARNINGS)]


def test_stats_show_the_outbox_and_the_relay_while_redis_is_away(cache_on):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Book.objects.update(title="Waiting")
    one_relay_round()
    out = StringIO()
    with pytest.raises(CommandError, match="does not answer"):
        call_command("cache_sync", "stats", stdout=out)
    lines = dict(line.split(None, 1) for line in out.getvalue().splitlines())
    assert int(lines["outbox_backlog"]) == OutboxEntry.objects.count() > 0
    assert lines["relay_heartbeat_age"].strip().endswith("s")
    assert lines["relay_caught_up_age"].strip() == "-"
    assert lines["relay_error"].startswith("Redis unavailable")
