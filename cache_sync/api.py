"""Explicit invalidation for the paths where Django sends no signal.

`QuerySet.update()`, `bulk_create()`, `bulk_update()` and raw SQL change rows
without `post_save`; call these after them (inside the same transaction: the
invalidation still waits for the commit).

    Product.objects.filter(category=tea).update(price=F("price") * 2)
    invalidate_objects(Product.objects.filter(category=tea))

For a queryset `delete()`, Django sends `post_delete` per row already.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, models

from .batch import schedule_invalidation
from .conf import get_config
from .tracking import related_keys, render_keys


def keys_for(obj: models.Model) -> list[str]:
    """The keys that a change of `obj` touches, by its model's rule (none without a rule)."""
    rule = get_config().rules_by_model.get(obj._meta.label)
    if rule is None:
        return []
    return render_keys(rule.keys, obj) + related_keys(rule, obj)


def invalidate_objects(objects: Iterable[models.Model], *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Invalidate the pages of `objects` after commit; returns the keys."""
    keys = list(dict.fromkeys(key for obj in objects for key in keys_for(obj)))
    schedule_invalidation(keys, using=using)
    return keys


def invalidate_keys(keys: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Invalidate rule keys such as "home" or "category:tea" after commit."""
    schedule_invalidation(keys, using=using)
