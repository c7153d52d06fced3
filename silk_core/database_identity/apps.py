from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DatabaseIdentityConfig(AppConfig):
    """A random id stored in the database, part of every cache key: a new database never meets old pages."""

    name = "silk_core.database_identity"
    label = "database_identity"
    verbose_name = "Database identity"

    def ready(self) -> None:
        from . import receivers

        # After migrate, and after flush (which empties the table, then sends post_migrate again).
        post_migrate.connect(receivers.give_database_an_identity, sender=self, dispatch_uid="database_identity:new")
