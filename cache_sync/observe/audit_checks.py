"""System check W040: the rule audit (audit.py) on the site's own cached views, in DEBUG or when asked.

Its own module, registered from apps.py: it renders pages, so it runs only where
that is cheap and wanted (`CACHE_SYNC['AUDIT_CHECK']`: True, False, or None for DEBUG).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from ..conf import get_config


def audit_enabled() -> bool:
    asked = get_config().audit_check
    return bool(settings.DEBUG if asked is None else asked)


def check_rule_audit(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not audit_enabled() or not get_config().rules or not _tables_exist():
        return []  # no rule yet, or before the first migrate: nothing to render
    from .audit import audit_url, site_urls, uncovered

    try:
        results = [audit_url(url) for url in site_urls()]
    except DatabaseError as error:
        return [Warning(f"cache_sync could not run its rule audit: {error}", id="cache_sync.W041")]
    return [
        Warning(
            f"{page.url} (key {page.key!r}) reads what no rule invalidates: {finding.message}",
            hint="Run `manage.py cache_sync audit` for every read of the page; AUDIT_IGNORE accepts a read.",
            id="cache_sync.W040",
        )
        for page, finding in uncovered(results)
    ]


def _tables_exist() -> bool:
    from django.apps import apps

    try:
        existing = set(connections[DEFAULT_DB_ALIAS].introspection.table_names())
    except DatabaseError:
        return False
    return all(apps.get_model(rule.model)._meta.db_table in existing for rule in get_config().rules)
