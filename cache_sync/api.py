"""The public calls for what the triggers cannot see: pages built from data outside watched tables.

Every write to a configured model's table is recorded by a database trigger and
delivered after its commit, whatever made it (`save()`, `update()`, `bulk_*`,
raw SQL, migrations, `loaddata`): nothing needs to be called after those. These
calls are for the rest, e.g. a page that shows data from another service:

    invalidate_keys(["home", "category:tea"])

Inside a transaction they are recorded in it and delivered when it commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, models

from . import outbox
from .affected import affected_keys, row_values
from .conf import get_config
from .delivery import deliver_after_commit


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


def invalidate_keys(keys: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate rule keys such as "home" or "category:tea" after commit (durably: recorded in the outbox)."""
    keys = list(keys)
    if keys:
        outbox.record_keys(keys, using)
        deliver_after_commit(using)
