from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from cache_sync import register_table_triggers
        from silk_core.versioning import version_triggers

        register_table_triggers(version_triggers)  # the version triggers survive schema changes in migrate
