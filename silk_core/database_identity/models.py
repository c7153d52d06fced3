import secrets

from django.db import models


def new_identity() -> str:
    return secrets.token_hex(6)


class DatabaseIdentity(models.Model):
    """One row: the id of this database, created by `migrate` (or on first use)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    value = models.CharField(max_length=32, default=new_identity, editable=False)

    class Meta:
        verbose_name_plural = "database identity"

    def __str__(self) -> str:
        return self.value
