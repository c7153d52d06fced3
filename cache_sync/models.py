"""The outbox: changes of watched tables, written by database triggers, deleted once delivered."""

from django.db import models
from django.db.models.functions import Now

OUTBOX_TABLE = "cache_sync_outbox"


class OutboxEntry(models.Model):
    """Committed (or still uncommitted) changes whose pages must be invalidated.

    Rows are inserted by the triggers that `cache_sync` installs on the tables of
    configured models (see triggers.py), in the transaction of the write itself,
    so a change is recorded exactly when it commits, whatever wrote it.
    """

    id = models.BigAutoField(primary_key=True)
    # "app_label.ModelName" of the changed row, or KEYS_LABEL for explicit keys.
    model = models.CharField(max_length=200)
    # JSON: the columns that key templates read, as the database saw them ("pk" always),
    # of one row (SQLite's row triggers) or a list of the rows of one statement (PostgreSQL).
    data = models.TextField()
    # The PostgreSQL backend pid of the writer (0 on SQLite): a writer delivers its own entries.
    writer = models.IntegerField(db_default=0)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = OUTBOX_TABLE
        indexes = [models.Index(fields=["writer", "id"], name="cache_sync_outbox_writer")]

    def __str__(self) -> str:
        return f"{self.model} {self.data}"
