"""The one module that talks to raw Redis.

Layout: each key of the rules (`product:abc`) is one Redis hash, the *family*,
named `<prefix>:{product:abc}`. The braces are a Redis Cluster hash tag, so the
family and everything in it live in one slot and every script below touches a
single key. Inside the hash, for each page variant `v` (query, visitor):

- `b:v` the page, `x:v` when it expires (ms since epoch, Redis clock);
- `l:v` the lease `token:deadline_ms` of the one reader that is building it;
- `r` the run id of the Redis server that wrote them (see `_SAME_RUN` in scripts.py);
- `w` with read replicas, the WAL position of the family's last invalidation (replicas.py).

A hit is one `HMGET` (`b:v`, `x:v`, `r`), checked here: fresh by the app's clock,
and stored by the run of the server this connection talks to (learnt with `INFO`
once per connection, forgotten when it reconnects). Anything else goes through
the read script, which decides atomically and takes the lease. (A page through
Lua costs Redis tens of microseconds per read; a plain `HMGET` about one.)

Invalidating a family is one key's `UNLINK` (a thousand families per command on a
single server): every variant and every lease goes at once, with no `KEYS`/`SCAN`.
A builder may store its page only while its lease is still in the hash; an
invalidation after its database read deleted the lease, so an old page can never
be stored after the write that made it old (the stale-set guard, as in Facebook's
memcache leases). The lease also makes concurrent misses wait for one build
instead of stampeding the database.

Redis errors surface as `StoreUnavailable` (breaker.py); callers treat it as a miss.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import weakref
from collections.abc import Awaitable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import redis
from django.core.cache import caches
from django_redis import get_redis_connection
from redis.cluster import ClusterNode, RedisCluster
from redis.commands.core import Script
from redis.connection import AbstractConnection, Connection, ConnectionPool

from .breaker import breaker, unavailable_on_error
from .scripts import INVALIDATE_AT_SCRIPT, READ_SCRIPT, RELEASE_SCRIPT, STORE_SCRIPT

logger = logging.getLogger(__name__)

_RUN_ID = re.compile(rb"run_id:([0-9a-f]+)")

UNLINK_BATCH = 1000  # keys per UNLINK command on a single server

_Answer = TypeVar("_Answer")


def _synchronous(answer: Awaitable[_Answer] | _Answer) -> _Answer:
    """A command's answer: redis-py types each command for its asyncio clients too; ours are not."""
    if isinstance(answer, Awaitable):
        raise TypeError("cache_sync needs a synchronous Redis client")
    return answer


@dataclass(frozen=True)
class ReadResult:
    status: str  # "hit", "build" (you hold the lease, or no guard) or "wait"
    page: bytes = b""
    token: str = ""
    position: str = ""  # with replicas: the WAL position of the family's last invalidation, if any


class PageStore:
    def __init__(self, cache_alias: str) -> None:
        self.cache_alias = cache_alias
        self._make_key = caches[cache_alias].make_key  # looked up once: family() runs per invalidated key
        # The run id of the server behind each pooled connection (on a cluster, of each node's).
        self._run_of: weakref.WeakKeyDictionary[AbstractConnection, bytes] = weakref.WeakKeyDictionary()

    # Connected on first use, inside `unavailable_on_error`: a cluster client connects as it is made.
    @cached_property
    def client(self) -> redis.Redis | RedisCluster:
        return get_redis_connection(self.cache_alias)

    def _script(self, text: str) -> Script:
        # redis-py annotates register_script for its single-server client; the cluster's is the same method.
        return self.client.register_script(text)  # type: ignore[misc]

    @cached_property
    def _read(self) -> Script:
        return self._script(READ_SCRIPT)

    @cached_property
    def _store(self) -> Script:
        return self._script(STORE_SCRIPT)

    @cached_property
    def _release(self) -> Script:
        return self._script(RELEASE_SCRIPT)

    def family(self, key: str) -> str:
        return self._make_key(f"{{{key}}}")

    def read(self, key: str, variant: str, *, guarded: bool, lease_ms: int) -> ReadResult:
        family = self.family(key)
        with unavailable_on_error():
            page = self._fresh_page(family, variant)
            if page is not None:
                return ReadResult("hit", page=page)
            token = secrets.token_hex(8) if guarded else ""
            status, payload, *position = self._read(keys=[family], args=[variant, token, lease_ms, int(guarded)])
        status = status.decode()
        if status == "hit":
            return ReadResult("hit", page=payload)
        return ReadResult(status, token=payload.decode(), position=position[0].decode() if position else "")

    def peek(self, key: str, variant: str) -> bytes | None:
        """The variant's page if one HMGET shows it fresh, else None: no lease is taken."""
        return self.peek_many([(key, variant)])[0]

    def peek_many(self, wanted: list[tuple[str, str]]) -> list[bytes | None]:
        """Each (key, variant)'s page if fresh, else None, in one round trip (on a cluster, one per key)."""
        with unavailable_on_error():
            if isinstance(self.client, RedisCluster):  # families of different slots: a node each
                return [self._fresh_pages([(self.family(key), variant)])[0] for key, variant in wanted]
            return self._fresh_pages([(self.family(key), variant) for key, variant in wanted])

    def _fresh_page(self, family: str, variant: str) -> bytes | None:
        return self._fresh_pages([(family, variant)])[0]

    def _fresh_pages(self, wanted: list[tuple[str, str]]) -> list[bytes | None]:
        """Each variant's page if its HMGET shows it fresh and of the server's current run, else None;
        the HMGETs sent at once, on one connection (of one server, or of the node of one family)."""
        client = self.client
        pool: ConnectionPool
        if isinstance(client, RedisCluster):  # the node that holds the family's slot, as the client last learnt it
            pool = client.get_redis_connection(client.get_node_from_key(wanted[0][0])).connection_pool
        else:
            pool = client.connection_pool
        connection = pool.get_connection()
        answers: list[list[bytes | None] | None] = []
        try:
            commands = [("HMGET", family, f"b:{variant}", f"x:{variant}", "r") for family, variant in wanted]
            run = self._run_of.get(connection)
            if run is None:
                connection.register_connect_callback(self._forget_run)
                connection.send_packed_command(connection.pack_commands([("INFO", "server"), *commands]))
                found = _RUN_ID.search(connection.read_response())
                run = found.group(1) if found else b""  # no run id: no page passes the check below
                self._run_of[connection] = run
            else:
                connection.send_packed_command(connection.pack_commands(commands))
            for _command in commands:
                try:
                    answers.append(connection.read_response())
                except redis.ResponseError:
                    answers.append(None)  # MOVED or ASK: the slot moved; the script's call follows the redirection
            if self._run_of.get(connection) is not run:
                return [None] * len(wanted)  # it reconnected meanwhile: the run that answered is not known
        finally:
            pool.release(connection)
        return [_fresh(answer, run or b"") for answer in answers]  # (run is known here: b"" passes no page)

    def _forget_run(self, connection: AbstractConnection) -> None:
        self._run_of.pop(connection, None)

    def store(
        self,
        key: str,
        variant: str,
        page: bytes,
        *,
        token: str,
        ttl_ms: int,
        max_variants: int = 256,
        replayed: str = "",
    ) -> bool:
        """Store `page` unless (guarded) the lease `token` was invalidated meanwhile, or the family is full,
        or (`replayed`: the replay position of the replicas it was read from) they had not replayed
        the family's last invalidation."""
        max_fields = 3 * max_variants + 2  # a page, its expiry and a lease per variant; the run id, a position
        with unavailable_on_error():
            stored = self._store(
                keys=[self.family(key)], args=[variant, token, page, ttl_ms, int(bool(token)), max_fields, replayed]
            )
        return bool(stored)

    def release(self, key: str, variant: str, token: str) -> None:
        with unavailable_on_error():
            self._release(keys=[self.family(key)], args=[variant, token])

    def cached_variants(self, key: str) -> dict[str, bytes]:
        """Every stored page of `key`'s family by variant, expired or not (for verification, not serving)."""
        with unavailable_on_error():
            fields: dict[bytes, bytes] = _synchronous(self.client.hgetall(self.family(key)))
        return {name[2:].decode(): page for name, page in fields.items() if name.startswith(b"b:")}

    def ping(self) -> None:
        with unavailable_on_error():
            self.client.ping()

    def cached_keys(self) -> Iterator[str]:
        """Every rule key with a family in Redis. Uses SCAN: for commands, never the write path."""
        pattern = self.family("*")
        prefix_length = pattern.index("{") + 1
        with unavailable_on_error():
            for name in self.client.scan_iter(match=pattern, count=1000):
                yield name.decode()[prefix_length:-1]

    def add_stats(self, counts: dict[str, int]) -> None:
        with unavailable_on_error():
            pipe = self.client.pipeline(transaction=False)
            for event, n in counts.items():
                pipe.hincrby(self.stats_key, event, n)
            pipe.execute()

    def read_stats(self) -> dict[str, int]:
        with unavailable_on_error():
            fields: dict[bytes, bytes] = _synchronous(self.client.hgetall(self.stats_key))
        return {name.decode(): int(value) for name, value in fields.items()}

    @property
    def stats_key(self) -> str:
        return self._make_key("cache_sync:stats")

    def invalidate(self, keys: Iterable[str], *, position: str = "", position_ttl_ms: int = 0) -> int:
        """Delete each key's family, in one round trip; returns how many keys were sent.

        UNLINK frees the memory off Redis's main thread. A single server gets one
        command per thousand keys; on a cluster, see `_unlink_on_each_node`. With a
        `position` (read replicas), each family is replaced by that position instead.
        """
        families = [self.family(key) for key in keys]
        if not families:
            return 0
        client = self.client
        with unavailable_on_error():
            if isinstance(client, RedisCluster):
                self._unlink_on_each_node(client, families, position, position_ttl_ms)
                return len(families)
            pipe = client.pipeline(transaction=False)
            for start in range(0, len(families), UNLINK_BATCH):
                batch = families[start : start + UNLINK_BATCH]
                if position:
                    pipe.eval(INVALIDATE_AT_SCRIPT, len(batch), *batch, position, str(position_ttl_ms))
                else:
                    pipe.unlink(*batch)
            pipe.execute()
        return len(families)

    def _unlink_on_each_node(
        self, client: RedisCluster, families: list[str], position: str = "", position_ttl_ms: int = 0
    ) -> None:
        """One UNLINK per family (families lie in different slots), written to every node before any
        answer is read: one round trip per node, all at once. redis-py's cluster pipeline costs about
        30 µs of Python per command; this, a few. A family whose slot has moved (MOVED, ASK) is sent
        again through the cluster client, which follows the redirection."""
        by_node: dict[str, tuple[ClusterNode, list[str]]] = {}
        for family in families:
            node = client.get_node_from_key(family)
            by_node.setdefault(node.name, (node, []))[1].append(family)
        sent: list[tuple[ConnectionPool, Connection, list[str]]] = []
        moved: list[str] = []
        try:
            for node, names in by_node.values():
                pool = client.get_redis_connection(node).connection_pool
                connection = pool.get_connection()
                sent.append((pool, connection, names))
                commands = [_invalidation(name, position, position_ttl_ms) for name in names]
                connection.send_packed_command(connection.pack_commands(commands))
            for _pool, connection, names in sent:
                for name in names:
                    try:
                        connection.read_response()
                    except redis.ResponseError:
                        moved.append(name)
        finally:
            for pool, connection, _names in sent:
                pool.release(connection)
        if moved:
            pipe = client.pipeline(transaction=False)
            for name in moved:
                pipe.execute_command(*_invalidation(name, position, position_ttl_ms))
            pipe.execute()


def _fresh(answer: list[bytes | None] | None, run: bytes) -> bytes | None:
    """The page of one HMGET's answer (page, expiry, run) if it is fresh by this clock and of `run`."""
    if answer is None:
        return None
    page, expires, stored_run = answer
    if page is None or expires is None or stored_run != run or int(expires) <= time.time() * 1000:
        return None
    return page


def _invalidation(family: str, position: str, ttl_ms: int) -> tuple[str | int, ...]:
    """The command that invalidates one family (and leaves the write's position, if given)."""
    return ("EVAL", INVALIDATE_AT_SCRIPT, 1, family, position, ttl_ms) if position else ("UNLINK", family)


_stores: dict[str, PageStore] = {}


def get_store(cache_alias: str) -> PageStore:
    if cache_alias not in _stores:
        _stores[cache_alias] = PageStore(cache_alias)
    return _stores[cache_alias]


def reset_stores(**kwargs: object) -> None:
    _stores.clear()
    breaker.close()
