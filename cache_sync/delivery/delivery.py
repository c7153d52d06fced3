"""Delivering recorded changes to Redis: in the writer's request right after its commit, or by the relay.

The writer path: a write on a watched table (seen by the statement hook in
receivers.py) schedules `deliver_own_changes` to run first among the
transaction's on-commit callbacks; it reads the outbox entries this connection
wrote, renders their keys from the database as it is now, and deletes the
families in one pipeline that ends by acknowledging the entries (acks.py): the
relay deletes acknowledged entries in bulk, off the request path (on a Redis
Cluster, which cannot order that pipeline, the writer deletes them itself
afterwards). Whatever fails on the way
(Redis away, the process killed, an on-commit chain broken before it) leaves
the entries for the relay: delivery is at least once, and deleting a family twice
is harmless. With an edge (CACHE_SYNC["EDGE"]), the removal also queues the purge of
every key deleted, in the same transaction (edge/queue.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Collection, Iterator
from itertools import islice
from typing import TypedDict

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, DatabaseError, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..capture import outbox
from ..capture.followed import follow_queries
from ..capture.outbox import KEYS_LABEL, Followed
from ..conf import Config, get_config
from ..edge.queue import purges_queued_with, queue_purges
from ..replicas import invalidation_position
from ..signals import keys_invalidated
from ..store import stats
from ..store.breaker import StoreUnavailable, breaker
from ..store.page_store import get_store
from . import acks, own_entries
from .affected import AffectedKeys, affected_keys
from .relay_wait import wait_for_relay

logger = logging.getLogger(__name__)

CLAIM_LIMIT = 5000  # entries read per round
PIPELINE_CHUNK = 10_000  # DELs per Redis round trip


class _Position(TypedDict, total=False):
    """PageStore.invalidate's replica position, passed only with read replicas."""

    position: str
    position_ttl_ms: int


def deliver(
    changes: list[outbox.Change],
    using: str,
    followed: Followed | None = None,
    *,
    acknowledge: Collection[int] = (),
    forget: Collection[int] = (),
) -> AffectedKeys:
    """Delete the families the changes touch (`followed`: see affected_keys); then, in the last round trip,
    acknowledge the entry ids `acknowledge` and forget the acknowledgements `forget` (acks.py; a single
    Redis server only). Raises StoreUnavailable."""
    config = get_config()
    affected = AffectedKeys()
    if not config.invalidates or not (changes or forget):
        return affected
    if changes:
        affected = affected_keys(changes, using, config, followed)
    store = get_store(config.cache_alias)
    name = acks.acknowledgements_key(store, using)
    keys = affected.all_keys()
    sent = 0
    # The keys deleted, kept for the edge's purge when a backend is set.
    edge: list[str] | None = [] if config.edge is not None and config.edge.backend else None
    position = invalidation_position(using)  # with read replicas, left in each family (replicas.py)
    at: _Position = {"position": position, "position_ttl_ms": int(config.timeout * 1000)} if position else {}
    chunk = list(islice(keys, PIPELINE_CHUNK))
    while following := list(islice(keys, PIPELINE_CHUNK)):
        sent += store.invalidate(chunk, **at)
        if edge is not None:
            edge.extend(chunk)
        chunk = following
    # The last round trip acknowledges, after every family of this delivery.
    acknowledgement = (name, acknowledge) if acknowledge else None
    sent += store.invalidate(chunk, **at, acknowledge=acknowledgement, forget=(name, forget) if forget else None)
    if edge is not None:
        edge.extend(chunk)
    stats.count("invalidated_keys", sent)
    affected.edge = edge or []
    return affected


def _acknowledging(config: Config) -> bool:
    """Whether writers acknowledge in Redis (else they delete their entries themselves, as on a cluster).

    Not with an edge backend: its purges are queued in the transaction that deletes the entries, so
    a writer that acknowledged instead and died before queueing them would leave no purge behind."""
    if config.edge is not None and config.edge.backend:
        return False
    return config.invalidates and get_store(config.cache_alias).acknowledges_with_invalidation


def deliver_unacknowledged(changes: list[outbox.Change], using: str) -> AffectedKeys:
    """The relay's and catch-up's delivery: the changes their writers have not acknowledged (one round trip
    to ask), whose acknowledgements are forgotten in the invalidation's pipeline. Raises StoreUnavailable."""
    config = get_config()
    acknowledged: set[int] = set()
    if changes and _acknowledging(config):
        store = get_store(config.cache_alias)
        acknowledged = store.acknowledged(acks.acknowledgements_key(store, using), [c.id for c in changes])
    unacknowledged = [change for change in changes if change.id not in acknowledged]
    return deliver(unacknowledged, using, forget=acknowledged)


def announce(affected: AffectedKeys, using: str) -> None:
    """Tell observers (and the rebuilds of `rebuild` rules), once delivered and outside any transaction."""
    if affected.keys:
        keys_invalidated.send_robust(
            sender=deliver, keys=tuple(affected.keys), rebuild=tuple(affected.rebuild), using=using
        )


def renderable_models(config: Config | None = None) -> frozenset[str]:
    """The outbox `model` labels this process can turn into keys: its rules' installed models, explicit keys.

    During a rolling release, processes of the old and the new rules share one
    outbox; each reads only the entries it can render and leaves the rest, never
    deleting an entry undelivered (see outbox._of_models).
    """
    global _renderable
    config = config or get_config()
    if _renderable[0] is config:
        return _renderable[1]  # read on every write: once per configuration
    labels = {KEYS_LABEL}
    for label in config.rules_by_model:
        try:
            apps.get_model(label)
        except (LookupError, ValueError):
            continue
        labels.add(label)
    _renderable = (config, frozenset(labels))
    return _renderable[1]


_renderable: tuple[Config | None, frozenset[str]] = (None, frozenset())


def outbox_aliases(config: Config | None = None) -> list[str]:
    """The databases whose outbox holds changes: where each rule's model is written, and the default
    (explicit keys are recorded there unless told otherwise)."""
    config = config or get_config()
    aliases = {DEFAULT_DB_ALIAS: None}
    for label in config.rules_by_model:
        try:
            aliases[router.db_for_write(apps.get_model(label))] = None
        except (LookupError, ValueError):
            continue
    return list(aliases)


def deliver_own_changes(using: str) -> None:
    """Deliver what this connection wrote (after its commit); failures are left to the relay."""
    labels = renderable_models()
    undelivered: list[int] = []  # the entries of the round trip under way
    try:
        acknowledging = _acknowledging(get_config())
        while True:
            changes, followed = _read_own_changes(using, labels)
            if not changes:
                break
            undelivered = [change.id for change in changes]
            ids = [change.id for change in changes] if acknowledging else []
            affected = deliver(changes, using, followed, acknowledge=ids)
            if acknowledging:
                acks.note_acknowledged(using, ids)
            else:
                with purges_queued_with(using, affected.edge):
                    outbox.remove_of_this_writer(using, changes, labels)
            announce(affected, using)
            if len(changes) < CLAIM_LIMIT:
                break
    except StoreUnavailable as error:
        own_entries.read_back_next(using)
        stats.count("redis_error")
        logger.warning("Redis unavailable: invalidations left in the outbox for the relay: %s", error)
        try:
            if wait_for_relay(using, undelivered, get_config().relay_wait):
                logger.info("The relay delivered this writer's invalidations before its response")
        except DatabaseError:
            logger.exception("Waiting for the relay failed: its invalidations are left to it")
    except DatabaseError:
        own_entries.read_back_next(using)
        logger.exception("Reading the outbox failed: invalidations left for the relay")


def _read_own_changes(using: str, labels: frozenset[str]) -> tuple[list[outbox.Change], Followed | None]:
    """This writer's entries: as its triggers told them (own_entries.py), else read back, on PostgreSQL with
    the relations their keys follow, in one statement."""
    if (told := own_entries.take(using, labels)) is not None:
        return told
    after = acks.acknowledged_through(using)
    if follows := follow_queries(get_config(), labels, using):
        return outbox.pending_of_this_writer_followed(using, CLAIM_LIMIT, labels, follows, after)
    return outbox.pending_of_this_writer(using, CLAIM_LIMIT, labels, after), None


def deliver_pending(using: str, limit: int = CLAIM_LIMIT, labels: Collection[str] | None = None) -> int:
    """Deliver the oldest undelivered changes of any writer (the relay), of the models `labels` (default:
    every one this process renders); returns how many. Raises StoreUnavailable."""
    with transaction.atomic(using=using):
        changes = outbox.claim_pending(using, limit, renderable_models() if labels is None else labels)
        affected = deliver_unacknowledged(changes, using)
        outbox.remove(using, changes)
        queue_purges(using, affected.edge)
    announce(affected, using)
    return len(changes)


def catch_up(using: str | None = None) -> None:
    """Deliver every pending change, from any writer, without waiting for the relay; of every
    database that holds an outbox (`outbox_aliases`) unless `using` names one.

    Run by a process that saw Redis fail, before it serves from Redis again: while
    Redis was away, writers could not invalidate, and the pages they changed are
    still in Redis, whichever database their rows live in. Raises StoreUnavailable
    if Redis is still away.
    """
    labels = renderable_models()
    for alias in [using] if using else outbox_aliases():
        try:
            while changes := outbox.pending_of_all_writers(alias, CLAIM_LIMIT, labels):
                affected = deliver_unacknowledged(changes, alias)
                with purges_queued_with(alias, affected.edge):
                    outbox.remove(alias, changes)
                announce(affected, alias)
                if len(changes) < CLAIM_LIMIT:
                    break
        except DatabaseError:
            logger.exception("Reading the outbox of %r failed: its pages may be stale until the relay delivers", alias)
    breaker.owes_catch_up = False


_suspended = threading.local()  # aliases whose changes are not delivered (api.suspended)


@contextlib.contextmanager
def suspend_delivery(using: str) -> Iterator[None]:
    previous = getattr(_suspended, using, False)
    setattr(_suspended, using, True)
    try:
        yield
    finally:
        setattr(_suspended, using, previous)


def delivery_suspended(using: str) -> bool:
    return bool(getattr(_suspended, using, False))


def deliver_after_commit(using: str) -> None:
    """Deliver this transaction's changes when it commits (now, in autocommit), once per transaction.

    The callback goes first in the on-commit queue: a non-robust callback that
    raises, or a slow one (a mail send), must not delay or drop the invalidation.
    """
    if getattr(_suspended, using, False):
        return
    connection = transaction.get_connection(using)
    if not get_config().guarded:
        # The load test's baselines ("naive", "ttl"): at once, before the commit.
        deliver_own_changes(using)
        return
    if not connection.in_atomic_block:
        if connection.get_autocommit() and not driver_in_transaction(connection):
            deliver_own_changes(using)
        else:
            setattr(_owed, using, True)  # a manual transaction or a raw BEGIN: after its commit
        return
    if not connection.commit_on_exit:
        setattr(_owed, using, True)  # an atomic block inside a manual transaction commits nothing itself
        return
    if has_pending_delivery(connection):
        return
    callback = _DeliveryCallback(using)
    connection.run_on_commit.insert(0, (set(connection.savepoint_ids), callback, True))


_owed = threading.local()  # aliases whose open transaction wrote, outside Django's on_commit


def driver_in_transaction(connection: BaseDatabaseWrapper) -> bool:
    """Whether the driver has a transaction open that Django does not manage (a raw BEGIN, an unended script)."""
    raw = connection.connection
    if raw is None:
        return False
    in_transaction = getattr(raw, "in_transaction", None)  # sqlite3
    if in_transaction is not None:
        return bool(in_transaction)
    info = getattr(raw, "info", None)  # psycopg: TransactionStatus.IDLE is 0
    return bool(getattr(info, "transaction_status", 0))


def deliver_owed(using: str) -> None:
    """After a commit Django's on_commit does not see (`connection.commit()`, a raw COMMIT): deliver its writes."""
    if not getattr(_owed, using, False):
        return
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        return
    setattr(_owed, using, False)
    deliver_own_changes(using)
    if not connection.get_autocommit():
        # In a manual transaction, the delivery's own reads and deletes began a new one: end it, it holds nothing else.
        try:
            connection.commit()
        except DatabaseError:
            logger.exception("Ending the delivery's transaction failed: its entries are left for the relay")
            connection.rollback()


def has_pending_delivery(connection: BaseDatabaseWrapper) -> bool:
    """Whether the current transaction has written to a watched table (rolled-back savepoints excluded)."""
    # Each entry is (savepoint ids, callback, robust): django-stubs still types it as a pair.
    return any(isinstance(entry[1], _DeliveryCallback) for entry in connection.run_on_commit)


class _DeliveryCallback:
    def __init__(self, using: str) -> None:
        self.using = using
        self.__qualname__ = "deliver_own_changes"  # named in Django's log if it ever raised

    def __call__(self) -> None:
        deliver_own_changes(self.using)
