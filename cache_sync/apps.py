from django.apps import AppConfig
from django.core.signals import setting_changed


def reload_settings(setting: str, **kwargs) -> None:
    """Tests override CACHE_SYNC and CACHES: read them again and reconnect."""
    if setting not in ("CACHE_SYNC", "CACHES"):
        return
    from .conf import reset
    from .receivers import connect_receivers
    from .store import reset_stores

    reset(setting=setting)
    reset_stores()
    connect_receivers()


class CacheSyncConfig(AppConfig):
    name = "cache_sync"
    verbose_name = "Cache sync"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .receivers import connect_receivers

        connect_receivers()
        setting_changed.connect(reload_settings, dispatch_uid="cache_sync:reload_settings")
