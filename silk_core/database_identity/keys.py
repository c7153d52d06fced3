"""The cache's KEY_FUNCTION: `<KEY_PREFIX>:<database identity>:<version>:<key>`.

Every process of the site (gunicorn workers, the relay, management commands)
reads the identity from the same database, so they agree on every key; a new or
re-created database gets a new identity, so it never serves pages cached for
another one, even against the same Redis and the same CACHE_KEY_PREFIX.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

UNMIGRATED = "unmigrated"  # the table does not exist yet: nothing the site serves can be cached anyway

_identity: str | None = None


def make_key(key: str, key_prefix: str, version: int) -> str:
    return f"{key_prefix}:{_identity or database_identity()}:{version}:{key}"


def database_identity() -> str:
    """The id of the default database, read (or created) once per process."""
    global _identity
    if _identity is not None:
        return _identity
    from .models import DatabaseIdentity, new_identity

    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):  # a savepoint: a missing table must not spoil the caller's
            row, created = DatabaseIdentity.objects.get_or_create(pk=1, defaults={"value": new_identity()})
    except DatabaseError:
        return UNMIGRATED
    # A row created inside someone's transaction may still be rolled back: read it again next time.
    if not (created and connections[DEFAULT_DB_ALIAS].in_atomic_block):
        _identity = row.value
    return row.value


def forget_identity() -> None:
    global _identity
    _identity = None
