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

from django.db import DEFAULT_DB_ALIAS, models, transaction

from .capture import outbox
from .conf import get_config
from .delivery.affected import affected_keys, row_values
from .delivery.delivery import deliver_after_commit, suspend_delivery


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

    The triggers still record the block's writes; their entries are dropped before
    the transaction commits, so neither the writer nor the relay ever sends them.
    Invalidate what the block changed yourself if pages of it may be cached
    (`invalidate_keys(["home"])` after the block), as cacheops' `no_invalidation`
    and cachalot's `cachalot_disabled` leave it to you.
    """
    with transaction.atomic(using=using):
        start = outbox.last_id(using)
        with suspend_delivery(using):
            yield
        outbox.discard_of_this_writer_after(using, start)


def invalidate_keys(keys: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate rule keys such as "home" or "category:tea" after commit (durably: recorded in the outbox)."""
    keys = list(keys)
    if keys:
        outbox.record_keys(keys, using)
        deliver_after_commit(using)
