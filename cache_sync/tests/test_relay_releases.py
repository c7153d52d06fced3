"""Rolling releases: an entry a process cannot render is left for one that can, never deleted undelivered.

While a release rolls out, processes on the old rules and on the new ones share
one outbox (and the newest triggers). Each test writes entries under the full
rules, then runs a relay, a catch-up or a writer on rules that lack one of them.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from cache_sync.delivery import delivery, relay
from cache_sync.models import OutboxEntry, RelayHeartbeat
from cache_sync.signals import keys_invalidated
from cache_sync.tests import factories
from cache_sync.tests.relay_threads import RunningRelay, eventually
from cache_sync.tests.testapp.models import Book, Tag
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def delivered_keys():
    """The keys delivered during the test, as observers hear of them."""
    delivered = []

    def note(sender, keys: tuple, **kwargs):
        delivered.extend(keys)

    keys_invalidated.connect(note, dispatch_uid="test_relay_releases")
    yield delivered
    keys_invalidated.disconnect(dispatch_uid="test_relay_releases")


@pytest.fixture
def written_while_redis_was_away(cache_on, settings):
    """A tag and a book changed while Redis was away: their entries wait in the outbox."""
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    factories.tag("verse")
    live = settings.CACHES["default"]["LOCATION"]
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    Tag.objects.update(label="Verse, renamed")
    Book.objects.update(title="Odes, renamed")
    cache_on(live)
    assert set(OutboxEntry.objects.values_list("model", flat=True)) == {"testapp.Tag", "testapp.Book"}


def without_the_tag_rule(settings) -> None:
    """This process runs the previous release: no rule for testapp.Tag."""
    rules = {label: rule for label, rule in settings.CACHE_SYNC["RULES"].items() if label != "testapp.Tag"}
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "RULES": rules}


def stats_line(name: str) -> int:
    out = StringIO()
    call_command("cache_sync", "stats", stdout=out)
    return int(next(line.split()[1] for line in out.getvalue().splitlines() if line.startswith(name)))


def test_a_relay_without_the_rule_leaves_the_entry_for_a_relay_with_it(
    written_while_redis_was_away, settings, delivered_keys
):
    full = settings.CACHE_SYNC
    without_the_tag_rule(settings)
    assert relay.deliver_all("default") == 1  # the book's entry; the tag's is left, not spun on
    assert list(OutboxEntry.objects.values_list("model", flat=True)) == ["testapp.Tag"]
    assert stats_line("outbox_unrenderable") == 1
    assert relay.deliver_all("default") == 0
    settings.CACHE_SYNC = full  # the new release's relay
    assert relay.deliver_all("default") == 1
    assert "tag:verse" in delivered_keys
    assert not OutboxEntry.objects.exists()


def test_a_catch_up_without_the_rule_leaves_the_entry(written_while_redis_was_away, settings, delivered_keys):
    without_the_tag_rule(settings)
    delivery.catch_up()
    assert list(OutboxEntry.objects.values_list("model", flat=True)) == ["testapp.Tag"]
    assert "book:odes" in delivered_keys


def test_a_writer_without_the_rule_leaves_the_entries_of_its_own_transaction_it_cannot_render(settings, delivered_keys):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    factories.tag("verse")
    without_the_tag_rule(settings)  # the triggers are the new release's: they still record tags
    with transaction.atomic():
        Tag.objects.update(label="Verse, renamed")
        Book.objects.update(title="Odes, renamed")
    assert "book:odes" in delivered_keys
    assert list(OutboxEntry.objects.values_list("model", flat=True)) == ["testapp.Tag"]


def test_an_entry_of_a_model_no_longer_installed_is_left_too(settings):
    OutboxEntry.objects.create(model="gone.Model", data='{"pk": 1}')
    OutboxEntry.objects.create(model="cache_sync.keys", data='{"keys": ["home"]}')
    settings.CACHE_SYNC = {
        **settings.CACHE_SYNC,
        "RULES": {**settings.CACHE_SYNC["RULES"], "gone.Model": {"keys": ["x"]}},
    }
    assert "gone.Model" not in delivery.renderable_models()
    assert relay.deliver_all("default") == 1
    assert list(OutboxEntry.objects.values_list("model", flat=True)) == ["gone.Model"]


def test_a_running_relay_whose_rule_cannot_render_an_entry_leaves_it_and_delivers_the_others(settings, caplog):
    """This release's rule for testapp.Reader names a field its rows do not have (another schema)."""
    rules = {**settings.CACHE_SYNC["RULES"], "testapp.Reader": {"keys": ["reader:{nickname}"]}}
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "RULES": rules}
    unrenderable = OutboxEntry.objects.create(model="testapp.Reader", data='{"pk": 1}')
    with RunningRelay():
        OutboxEntry.objects.create(model="cache_sync.keys", data='{"keys": ["home"]}')
        eventually(lambda: list(OutboxEntry.objects.all()) == [unrenderable], "the other entries are delivered")
        eventually(lambda: RelayHeartbeat.objects.filter(unrenderable=1).exists(), "the heartbeat counts it")
    assert "Relay leaves the entries of testapp.Reader" in caplog.text


def test_a_model_set_aside_is_tried_again_later(settings, monkeypatch):
    rules = {**settings.CACHE_SYNC["RULES"], "testapp.Reader": {"keys": ["reader:{name}"]}}
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "RULES": rules}
    monkeypatch.setattr(relay, "SET_ASIDE_FOR", 0.5)
    broken = [True]
    deliver = delivery.deliver

    def fails_while_broken(changes, using):
        if broken[0] and any(change.model == "testapp.Reader" for change in changes):
            raise LookupError("a rule this schema cannot render")
        return deliver(changes, using)

    monkeypatch.setattr(delivery, "deliver", fails_while_broken)
    OutboxEntry.objects.create(model="testapp.Reader", data='{"pk": 1, "name": "ada"}')
    with RunningRelay():
        OutboxEntry.objects.create(model="cache_sync.keys", data='{"keys": ["home"]}')
        eventually(lambda: OutboxEntry.objects.count() == 1, "the other entry is delivered")
        broken[0] = False  # say, the schema it expects has arrived
        eventually(lambda: not OutboxEntry.objects.exists(), "the set-aside entry is delivered after all")
