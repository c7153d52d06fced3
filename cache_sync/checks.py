"""System checks of `settings.CACHE_SYNC` (ids `cache_sync.E0xx`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import Error, Warning
from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.http.request import validate_host
from django.utils import timezone

from .capture.triggers import SUPPORTED_VENDORS, compare_triggers, silent_triggers
from .conf import Config, Rule, get_config
from .delivery.affected import related_field
from .edge.checks import check_edge_backend
from .holes.signed_in import fast_path_refusals
from .keys import KeyTemplate
from .pages.built_requests import built_request_host


def check_cache_sync(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Error]:
    raw = getattr(settings, "CACHE_SYNC", {})
    config = get_config()  # the settings as the rest of cache_sync reads them
    errors = [Error(p.message, hint=p.hint or None, id=p.id) for p in config.problems]
    errors.extend(_check_cache(config.cache_alias))
    errors.extend(_check_base_url(config))
    errors.extend(_check_visitor_rule(config))
    errors.extend(check_edge_backend(config))
    raw_rules = raw.get("RULES", {}) if isinstance(raw, dict) else {}
    for label in raw_rules if isinstance(raw_rules, dict) else ():
        if isinstance(label, str) and label.count(".") == 1:  # else reported by parse()
            rule = next((r for r in config.rules if r.model == label), None)
            errors.extend(_check_rule(label, rule))
    return errors


def _has_pages_with_holes() -> bool:
    from django.urls import get_resolver

    from .pages.decorator import registered_pages

    try:
        get_resolver().url_patterns  # imports the views, whose decorators register the pages  # noqa: B018
    except Exception:  # a broken URLconf is Django's own check to report
        return False
    return any(page.holes for page in registered_pages())


def _check_visitor_rule(config: Config) -> list[Error]:
    """Pages with holes serve signed-in visitors from their records (holes.py): only a rule keeps those true."""
    if config.problems or not _has_pages_with_holes():
        return []  # (the settings' own problems first: a rule that did not parse is not there)
    rule = config.rules_by_model.get(settings.AUTH_USER_MODEL)
    if rule is not None and config.visitor_key in {template.text for template in rule.keys}:
        return []
    return [
        Error(
            f"Pages with holes fill signed-in visitors' parts from records kept under {config.visitor_key!r}, "
            f"but no rule of {settings.AUTH_USER_MODEL} lists that key: a visitor renamed, deactivated or "
            "whose password changed would be served from their old record.",
            hint=f"Add {config.visitor_key!r} to the keys of CACHE_SYNC['RULES'][{settings.AUTH_USER_MODEL!r}] "
            "(with `fields`, list the ones the fragments show, `password` and `is_active`).",
            id="cache_sync.E060",
        )
    ]


def check_signed_in_fast_path(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[Warning]:
    """W042: pages with holes, and settings under which their signed-in hits are never answered before Django."""
    reasons = fast_path_refusals()
    if not reasons or not _has_pages_with_holes():
        return []
    return [
        Warning(
            "Pages with holes are filled for signed-in visitors by Django's full stack, never before it: "
            + "; ".join(reasons)
            + ".",
            hint="The fast path needs the signed_cookies or cache session engine, CSRF in its cookie, "
            "ModelBackend and SESSION_SAVE_EVERY_REQUEST off; the pages stay correct without it, only slower.",
            id="cache_sync.W042",
        )
    ]


def check_triggers(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Error]:
    """The outbox triggers match the rules (run by `check --database` and `migrate`)."""
    config = get_config()
    errors = []
    for alias in databases or ():
        connection = connections[alias]
        if not config.rules:
            continue
        if connection.vendor not in SUPPORTED_VENDORS:
            errors.append(
                Error(
                    f"cache_sync records changes with triggers on PostgreSQL and SQLite; "
                    f"database {alias!r} is {connection.vendor}.",
                    id="cache_sync.E021",
                )
            )
            continue
        diff = compare_triggers(alias, config)
        if not diff.matches:
            tables = sorted({t.table for t in diff.to_install} | {found.table for found in diff.orphaned})
            errors.append(
                Error(
                    f"The change-recording triggers of CACHE_SYNC['RULES'] are missing or out of date on "
                    f"database {alias!r} ({diff.describe()}; tables {', '.join(tables)}): "
                    "writes there are not invalidated.",
                    hint=f"Run: python manage.py cache_sync triggers install --database {alias}",
                    id="cache_sync.E020",
                )
            )
    return errors


def check_triggers_fire(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Error]:
    """The triggers fire for this site's own connections (`check --database`, `migrate`)."""
    errors = []
    for alias in databases or ():
        if not get_config().rules or connections[alias].vendor != "postgresql":
            continue
        role, silent = silent_triggers(alias)
        if silent:
            errors.append(
                Error(
                    f"{len(silent)} change-recording trigger(s) do not fire for this site's connections to "
                    f"database {alias!r} (session_replication_role = {role}; disabled or not enabled for it): "
                    f"writes there reach no cache. E.g. {silent[0]}.",
                    hint="A site that writes as a replica (a pooler or a role setting session_replication_role) "
                    "needs ALTER TABLE ... ENABLE ALWAYS TRIGGER for each; a disabled trigger needs "
                    "ALTER TABLE ... ENABLE TRIGGER (see 'Writes cache_sync does not see' in its README).",
                    id="cache_sync.E022",
                )
            )
    return errors


RELAY_SILENT_AFTER = 60.0  # seconds without a heartbeat, or without catching up, before W030/W031


def check_relay_heartbeat(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[Warning]:
    """A relay runs and keeps up on each database (`check --deploy --database <alias>`).

    Deploy-only, as the relay is a process of its own that a development set-up may
    not run. Read from the database, so it answers while Redis is away.
    """
    from .delivery.heartbeat import latest_heartbeat
    from .models import OUTBOX_TABLE

    warnings = []
    now = timezone.now()
    for alias in databases or ():
        if not get_config().rules or OUTBOX_TABLE not in connections[alias].introspection.table_names():
            continue
        beat = latest_heartbeat(alias)
        silent = (now - beat.beat_at).total_seconds() if beat else None
        if silent is None or silent > RELAY_SILENT_AFTER:
            since = "has ever run" if silent is None else f"has beaten for {silent:.0f}s"
            warnings.append(
                Warning(
                    f"No cache_sync relay {since} on database {alias!r}: changes its writers could not deliver "
                    "(a crash, Redis away from them, a write from outside Django) stay stale until the TTL.",
                    hint=f"Run and supervise: python manage.py cache_sync relay --database {alias}",
                    id="cache_sync.W030",
                )
            )
        elif (
            beat is not None
            and beat.backlog
            and (beat.caught_up_at is None or (now - beat.caught_up_at).total_seconds() > RELAY_SILENT_AFTER)
        ):
            warnings.append(
                Warning(
                    f"The cache_sync relay of database {alias!r} runs but has not caught up for over "
                    f"{RELAY_SILENT_AFTER:.0f}s ({beat.backlog} entries wait): {beat.error or 'no error given'}.",
                    hint="See `manage.py cache_sync stats` and the relay's log (is Redis reachable from it?).",
                    id="cache_sync.W031",
                )
            )
    return warnings


def _check_cache(alias: str) -> list[Error]:
    backend = settings.CACHES.get(alias, {}).get("BACKEND")
    if backend is None:
        return [
            Error(
                f"CACHE_SYNC['CACHE'] names the cache alias {alias!r}, which is not in CACHES.",
                hint=f"Use one of: {', '.join(settings.CACHES)}.",
                id="cache_sync.E002",
            )
        ]
    if not str(backend).startswith("django_redis."):
        return [
            Error(
                f"CACHE_SYNC['CACHE'] is {alias!r}, whose backend {backend} is not django-redis.",
                hint="cache_sync needs a Redis cache: BACKEND 'django_redis.cache.RedisCache'.",
                id="cache_sync.E003",
            )
        ]
    return []


def _check_base_url(config: Config) -> list[Error]:
    """The requests cache_sync builds itself (rebuilds, warm, verify) must pass ALLOWED_HOSTS."""
    if not config.base_url:
        if any(rule.rebuilds for rule in config.rules) and built_request_host() is None:
            return [
                Error(
                    "A rule of CACHE_SYNC['RULES'] rebuilds pages, but no host is known for the requests it builds.",
                    hint="Set CACHE_SYNC['BASE_URL'] (e.g. 'https://shop.example.org') or a host in ALLOWED_HOSTS.",
                    id="cache_sync.E051",
                )
            ]
        return []
    host = urlsplit(config.base_url).netloc
    if not validate_host(host.rsplit(":", 1)[0] if ":" in host else host, settings.ALLOWED_HOSTS):
        return [
            Error(
                f"CACHE_SYNC['BASE_URL'] is {config.base_url!r}, whose host is not in ALLOWED_HOSTS.",
                hint="Add the host to ALLOWED_HOSTS, or name one that is there.",
                id="cache_sync.E050",
            )
        ]
    return []


def _check_rule(label: str, rule: Rule | None) -> list[Error]:
    where = f"CACHE_SYNC['RULES'][{label!r}]"
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return [Error(f"{where}: unknown model {label!r}.", hint="Use 'app_label.ModelName'.", id="cache_sync.E011")]
    if rule is None:
        return []  # its problems were reported by parse()
    errors = [error for t in rule.keys for error in _check_template(where, model, t)]
    for name in rule.fields or ():
        try:
            model._meta.get_field(name)
        except FieldDoesNotExist:
            errors.append(Error(f"{where}['fields']: {model._meta.label} has no field {name!r}.", id="cache_sync.E016"))
    for accessor, templates in rule.related:
        related_model = _related_model(model, accessor)
        if related_model is None:
            errors.append(
                Error(
                    f"{where}['related']: {model._meta.label} has no relation {accessor!r}.",
                    hint="Name a relation of the model, e.g. the related_name of a ForeignKey to it.",
                    id="cache_sync.E015",
                )
            )
            continue
        errors.extend(
            e for t in templates for e in _check_template(f"{where}['related'][{accessor!r}]", related_model, t)
        )
    return errors


def _check_template(where: str, model: type[models.Model], template: KeyTemplate) -> list[Error]:
    errors = []
    for path in template.paths:
        current = model
        for depth, name in enumerate(path):
            try:
                field = current._meta.get_field(name)
            except FieldDoesNotExist:
                errors.append(
                    Error(
                        f"{where}: key template {template.text!r} names {'.'.join(path)!r}, "
                        f"but {current._meta.label} has no field {name!r}.",
                        id="cache_sync.E014",
                    )
                )
                break
            last = depth == len(path) - 1
            if not last and not (field.many_to_one or field.one_to_one):
                errors.append(
                    Error(
                        f"{where}: key template {template.text!r} follows {name!r}, "
                        "which is not a forward relation to one object.",
                        id="cache_sync.E057",
                    )
                )
                break
            if not last:
                if not isinstance(field.related_model, type):  # a relation not resolved yet: nothing to follow
                    break
                current = field.related_model
    return errors


def _related_model(model: type[models.Model], accessor: str) -> type[models.Model] | None:
    relation = related_field(model, accessor)  # the delivery's own lookup: a rule checked is a rule followed
    target = relation.related_model if relation is not None else None
    return target if isinstance(target, type) else None
