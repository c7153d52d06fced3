from django.db import DEFAULT_DB_ALIAS

from . import keys


def give_database_an_identity(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the row if the database has none (new, or just flushed), and forget the one we knew."""
    if using == DEFAULT_DB_ALIAS:
        keys.forget_identity()
        keys.database_identity()
