"""Model signal receivers, connected for configured models only (see apps.py)."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import signals

from .batch import schedule_invalidation
from .conf import Config, Rule, get_config
from .tracking import complete_snapshot, keys_of_change, render_keys, take_snapshot

M2M_ACTIONS = ("post_add", "post_remove", "post_clear", "pre_clear")


def rule_for(model: type[models.Model]) -> Rule | None:
    return get_config().rules_by_model.get(model._meta.label)


def note_loaded_values(sender, instance, **kwargs) -> None:
    if rule := rule_for(sender):
        take_snapshot(rule, instance)


def note_values_before_save(sender, instance, raw=False, **kwargs) -> None:
    if rule := rule_for(sender):
        complete_snapshot(rule, instance)


def invalidate_saved(sender, instance, using, **kwargs) -> None:
    if rule := rule_for(sender):
        schedule_invalidation(keys_of_change(rule, instance), using=using, rebuild=rule.rebuilds)
        take_snapshot(rule, instance)


def invalidate_deleted(sender, instance, using, **kwargs) -> None:
    if rule := rule_for(sender):
        schedule_invalidation(keys_of_change(rule, instance), using=using)


def invalidate_m2m_changed(sender, instance, action, reverse, model, pk_set, using, **kwargs) -> None:
    if action not in M2M_ACTIONS:
        return
    if rule := rule_for(type(instance)):
        schedule_invalidation(keys_of_change(rule, instance), using=using, rebuild=rule.rebuilds)
    other_rule = rule_for(model)
    if other_rule and action != "post_clear":
        others = model._base_manager.using(using).filter(pk__in=pk_set or ())
        keys = [key for obj in others for key in render_keys(other_rule.keys, obj)]
        schedule_invalidation(keys, using=using, rebuild=other_rule.rebuilds)


def _connections(config: Config):
    for rule in config.rules:
        try:
            model = apps.get_model(rule.model)
        except (LookupError, ValueError):
            continue  # reported by the system checks
        uid = f"cache_sync:{rule.model}"
        yield signals.post_init, note_loaded_values, model, uid
        yield signals.pre_save, note_values_before_save, model, uid
        yield signals.post_save, invalidate_saved, model, uid
        yield signals.post_delete, invalidate_deleted, model, uid
        for field in model._meta.many_to_many:
            yield signals.m2m_changed, invalidate_m2m_changed, field.remote_field.through, f"{uid}:{field.name}"


_connected: list[tuple] = []


def connect_receivers(config: Config | None = None) -> None:
    disconnect_receivers()
    for signal, receiver, sender, uid in _connections(config or get_config()):
        signal.connect(receiver, sender=sender, dispatch_uid=uid, weak=False)
        _connected.append((signal, sender, uid))


def disconnect_receivers() -> None:
    while _connected:
        signal, sender, uid = _connected.pop()
        signal.disconnect(sender=sender, dispatch_uid=uid)
