"""The public calls for what the triggers cannot see: pages built from data outside watched tables.

Every write to a configured model's table is recorded by a database trigger and
delivered after its commit, whatever made it (`save()`, `update()`, `bulk_*`,
raw SQL, migrations, `loaddata`): nothing needs to be called after those. These
calls are for the rest, e.g. a page that shows data from another service:

    invalidate_keys(["home", "category:tea"])

Inside a transaction they are recorded in it and delivered when it commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from .capture import outbox
from .capture.trigger_sql import OWN_ENTRIES, SUSPENDED
from .conf import get_config
from .delivery import own_entries
from .delivery.affected import affected_keys, row_values
from .delivery.delivery import deliver_after_commit, delivery_suspended, suspend_delivery


def keys_for(obj: models.Model, *, using: str | None = None) -> list[str]:
    """The keys that a change of `obj`, as it is now, touches by its model's rule (none without a rule)."""
    rule = get_config().rules_by_model.get(obj._meta.label)
    if rule is None:
        return []
    change = outbox.Change(0, rule.model, [row_values(rule, obj)])
    return list(affected_keys([change], using or obj._state.db or DEFAULT_DB_ALIAS).all_keys())


def invalidate_objects(objects: Iterable[models.Model], *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Invalidate the pages of `objects` (as they are in memory) after commit; returns the keys."""
    keys = list(dict.fromkeys(key for obj in objects for key in keys_for(obj, using=using)))
    invalidate_keys(keys, using=using)
    return keys


@contextlib.contextmanager
def suspended(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block in one transaction whose changes invalidate nothing (imports, seeding).

    Neither the writer nor the relay ever sends the block's changes, and
    `invalidate_keys()` inside it records nothing. Invalidate what the block changed
    yourself if pages of it may be cached (`invalidate_keys(["home"])` after the block),
    as cacheops' `no_invalidation` and cachalot's `cachalot_disabled` leave it to you.

    On PostgreSQL the triggers record nothing: the block sets `cache_sync.suspended` for
    its transaction (`set_config(..., true)`, which the triggers' WHEN reads) and puts back
    the value it found when it ends, so writes after it, in the same transaction too, are
    recorded; if the block raises, the rollback (of the transaction or of its savepoint)
    restores the value. It is a transaction's setting, never a session's, so that nothing
    outlives the block: a session setting would stay on a connection whose reset failed,
    and behind a transaction pooler (PgBouncer) on a connection other clients write on.
    SQLite has no such setting a trigger can read (a function registered on Django's
    connections would fail every other program's writes): the triggers record, and the
    block's entries are dropped before the transaction commits.
    """
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":
            with suspend_delivery(using), _recording_suspended(using):
                yield
            return
        start = outbox.last_id(using)
        with suspend_delivery(using):
            yield
        outbox.discard_after(using, start)


@contextlib.contextmanager
def _recording_suspended(using: str) -> Iterator[None]:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [SUSPENDED])
        previous = cursor.fetchone()[0] or ""
        cursor.execute("SELECT set_config(%s, 'on', true)", [SUSPENDED])
    yield  # not in a finally: after an error the transaction (or its savepoint) rolls back, and the setting with it
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [SUSPENDED, previous])


def invalidate_keys(keys: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate rule keys such as "home" or "category:tea" after commit (durably: recorded in the outbox)."""
    keys = list(keys)
    if keys and not delivery_suspended(using):
        entry, told = outbox.record_keys(keys, using, OWN_ENTRIES)
        own_entries.recorded_here(using, entry, told)
        deliver_after_commit(using)
