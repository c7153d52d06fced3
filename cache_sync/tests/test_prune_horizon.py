"""The relay's prune horizon is the pages' whole possible life: TIMEOUT, plus LEASE_TIMEOUT (a page is
stored up to a lease after its read), plus the margin between the database's and Redis's clocks. An entry
first seen inside it may still invalidate a live page, so it is kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cache_sync.delivery import relay
from cache_sync.models import OutboxEntry
from tools.harness.ports import quiet_port

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 1


def one_relay_round() -> None:
    rounds = iter([False])
    relay.run("default", should_stop=lambda: next(rounds, True))


@pytest.mark.parametrize(
    ("lease_timeout", "clock_margin"),
    [pytest.param(30, 0.0, id="within the lease"), pytest.param(0.1, 30.0, id="within the clocks' margin")],
)
def test_an_entry_first_seen_after_timeout_but_inside_the_horizon_is_kept(
    lease_timeout, clock_margin, settings, monkeypatch, cache_on
):
    settings.CACHE_SYNC = {**settings.CACHE_SYNC, "TIMEOUT": TIMEOUT, "LEASE_TIMEOUT": lease_timeout}
    monkeypatch.setattr(relay, "CLOCK_MARGIN", clock_margin)
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")  # Redis away: the relay only prunes
    seen = timezone.now() - timedelta(seconds=TIMEOUT + 10)  # past TIMEOUT, 20 s inside the horizon
    kept = OutboxEntry.objects.create(model="removed.ForGood", data='{"pk": 1}', seen_at=seen)
    gone = OutboxEntry.objects.create(
        model="removed.ForGood", data='{"pk": 2}', seen_at=seen - timedelta(seconds=lease_timeout + clock_margin)
    )
    one_relay_round()
    assert list(OutboxEntry.objects.values_list("pk", flat=True)) == [kept.pk]
    assert gone.pk != kept.pk
