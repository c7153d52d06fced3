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
    # The statement's time (PostgreSQL's now() is the transaction's start, maybe long before the commit).
    created_at = models.DateTimeField(db_default=Now())
    # When a relay first saw the entry: it is visible only once committed, so this is at or after
    # the commit. Pruning measures from it (relay.prune_expired); NULL until a relay's housekeeping.
    seen_at = models.DateTimeField(null=True)

    class Meta:
        db_table = OUTBOX_TABLE
        indexes = [models.Index(fields=["writer", "id"], name="cache_sync_outbox_writer")]

    def __str__(self) -> str:
        return f"{self.model} {self.data}"


class RelayHeartbeat(models.Model):
    """What a relay last did, written every few seconds in the database it relays.

    In the database, not in Redis: the tooling (`cache_sync stats`, the W030/W031
    checks) must read it when Redis is away, which is when it matters most. A relay
    that cannot reach its database cannot deliver either, and its heartbeat ages.
    """

    relay = models.CharField(max_length=200, primary_key=True)  # "host:pid"
    beat_at = models.DateTimeField()  # the relay's last round, whatever it achieved
    # The last round that left nothing it could deliver behind (None: not yet).
    caught_up_at = models.DateTimeField(null=True)
    backlog = models.IntegerField(default=0)  # entries waiting then
    unrenderable = models.IntegerField(default=0)  # of those, entries of models this relay has no rule for
    error = models.TextField(blank=True)  # why the last round failed ("" when it did not)

    class Meta:
        db_table = "cache_sync_relay_heartbeat"

    def __str__(self) -> str:
        return f"{self.relay} at {self.beat_at}"


class EdgePurge(models.Model):
    """A surrogate key the edge must purge: written with the removal of the outbox entries whose
    delivery deleted its family from Redis, in the same transaction; deleted once the edge took it.

    One row per key: a key queued again while a purge of it is under way gets a new `stamp`, and the
    purger deletes only the stamp it sent, so the later write's purge is never lost (edge/queue.py).
    """

    key = models.CharField(max_length=200, primary_key=True)  # a surrogate key (edge/surrogate.py)
    stamp = models.BigIntegerField()
    queued_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "cache_sync_edge_purge"

    def __str__(self) -> str:
        return self.key
