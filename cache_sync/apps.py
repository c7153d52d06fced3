from django.apps import AppConfig
from django.core.checks import Tags, register
from django.core.signals import setting_changed
from django.db.models.signals import post_migrate


def reload_settings(setting: str, **kwargs: object) -> None:
    """Tests override CACHE_SYNC, CACHES, the load-test baseline and the URLconf: read them again and reconnect."""
    from .conf import BASELINE_SETTING, request_settings, reset

    request_settings.cache_clear()  # any setting: it keeps a dozen of Django's
    if setting == "ROOT_URLCONF":
        from .pages.decorator import cached_view_at

        cached_view_at.cache_clear()

    if setting not in ("CACHE_SYNC", "CACHES", BASELINE_SETTING):
        return
    from .delivery.receivers import connect_receivers
    from .store.page_store import reset_stores

    reset(setting=setting)
    reset_stores()
    connect_receivers()


class CacheSyncConfig(AppConfig):
    name = "cache_sync"
    verbose_name = "Cache sync"

    def ready(self) -> None:
        from .capture.schema_hooks import follow_schema_in_migrations
        from .capture.triggers import SUPPORTED_VENDORS, install_after_migrate
        from .checks import (
            check_cache_sync,
            check_relay_heartbeat,
            check_signed_in_fast_path,
            check_triggers,
            check_triggers_fire,
        )
        from .delivery.own_entries import start_sessions_told
        from .delivery.receivers import connect_receivers
        from .observe import audit_checks
        from .pages.rebuild import rebuild_pages
        from .signals import keys_invalidated

        register(check_cache_sync, Tags.caches)
        register(check_signed_in_fast_path, Tags.caches)
        register(check_triggers, Tags.database)
        register(check_triggers_fire, Tags.database)
        register(check_relay_heartbeat, Tags.database, deploy=True)
        register(audit_checks.check_rule_audit, "cache_sync_audit")  # W040: renders pages, own module
        connect_receivers()
        follow_schema_in_migrations(SUPPORTED_VENDORS)
        start_sessions_told()
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="cache_sync:install_triggers")
        keys_invalidated.connect(rebuild_pages, dispatch_uid="cache_sync:rebuild_pages")
        setting_changed.connect(reload_settings, dispatch_uid="cache_sync:reload_settings")
