"""Which keys an instance's change touches: its old and its new values both count.

The local values that key templates read (`slug`, `category_id`) are noted when
an instance is loaded and after each save, so that a save can render the keys of
the old state without a query; only a moved foreign key loads the old related row.
"""

from __future__ import annotations

import copy
from functools import cache

from django.db import models

from .conf import Rule
from .keys import KeyTemplate

SNAPSHOT = "_cache_sync_snapshot"


@cache
def tracked_fields(model: type[models.Model], templates: tuple[KeyTemplate, ...]) -> tuple[models.Field, ...]:
    """The model's own fields that the templates start from."""
    names = {path[0] for template in templates for path in template.paths}
    return tuple(model._meta.get_field(name) for name in sorted(names))


def take_snapshot(rule: Rule, instance: models.Model) -> None:
    fields = tracked_fields(type(instance), rule.keys)
    values = instance.__dict__
    instance.__dict__[SNAPSHOT] = {f.attname: values[f.attname] for f in fields if f.attname in values}


def complete_snapshot(rule: Rule, instance: models.Model) -> None:
    """Before an update, fetch from the database what was not noted at load (one query, rarely)."""
    if instance.pk is None:
        return
    fields = tracked_fields(type(instance), rule.keys)
    snapshot = instance.__dict__.get(SNAPSHOT) if not instance._state.adding else None
    missing = [f.attname for f in fields if snapshot is None or f.attname not in snapshot]
    if not missing:
        return
    manager = type(instance)._base_manager.using(instance._state.db or None)
    row = manager.filter(pk=instance.pk).values(*missing).first()
    if row is not None:
        instance.__dict__[SNAPSHOT] = {**(snapshot or {}), **row}


def render_keys(templates: tuple[KeyTemplate, ...], instance: models.Model) -> list[str]:
    return [key for template in templates if (key := template.render(instance)) is not None]


def keys_of_change(rule: Rule, instance: models.Model) -> list[str]:
    """Keys of the instance as it is now and, where they differ, as it was."""
    keys = render_keys(rule.keys, instance)
    old = _old_state(rule, instance)
    if old is not None:
        keys.extend(key for key in render_keys(rule.keys, old) if key not in keys)
    keys.extend(related_keys(rule, instance))
    return keys


def related_keys(rule: Rule, instance: models.Model) -> list[str]:
    keys = []
    for accessor, templates in rule.related:
        related = getattr(instance, accessor)
        if hasattr(related, "all"):
            objects = related.all().only(*{path[0] for template in templates for path in template.paths})
        else:
            objects = [related]
        for obj in objects:
            keys.extend(render_keys(templates, obj))
    return keys


def _old_state(rule: Rule, instance: models.Model) -> models.Model | None:
    snapshot = instance.__dict__.get(SNAPSHOT)
    if not snapshot:
        return None
    changed = {name: value for name, value in snapshot.items() if instance.__dict__.get(name) != value}
    if not changed:
        return None
    old = copy.copy(instance)
    old.__dict__.update(changed)
    for field in tracked_fields(type(instance), rule.keys):
        if field.is_relation and field.attname in changed:
            old._state.fields_cache.pop(field.name, None)
    return old
