"""The one module that talks to raw Redis.

Layout: each key of the rules (`product:abc`) is one Redis hash, the *family*,
named `<prefix>:{product:abc}`. The braces are a Redis Cluster hash tag, so the
family and everything in it live in one slot and every script below touches a
single key. Inside the hash, for each page variant `v` (query, visitor):

- `b:v` the page, `x:v` when it expires (ms since epoch, Redis clock);
- `l:v` the lease `token:deadline_ms` of the one reader that is building it;
- `r` the run id of the Redis server that wrote them (see `_SAME_RUN`).

A hit is one `HMGET` (`b:v`, `x:v`, `r`), checked here: fresh by the app's clock,
and stored by the run of the server this connection talks to (learnt with `INFO`
once per connection, forgotten when it reconnects). Anything else goes through
the read script, which decides atomically and takes the lease. (A page through
Lua costs Redis tens of microseconds per read; a plain `HMGET` about one.)

Invalidating a family is one `DEL`: every variant and every lease goes at once,
with no `KEYS`/`SCAN`. A builder may store its page only while its lease is still
in the hash; an invalidation after its database read deleted the lease, so an
old page can never be stored after the write that made it old (the stale-set
guard, as in Facebook's memcache leases). The lease also makes concurrent misses
wait for one build instead of stampeding the database.

Redis errors surface as `StoreUnavailable`; callers treat it as a miss.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

import redis
from django.core.cache import caches
from django_redis import get_redis_connection
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

logger = logging.getLogger(__name__)

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# A family remembers the run of the server that filled it (`r`); a server restarted
# from an RDB/AOF snapshot has a new run id, and drops what the old run stored:
# pages invalidated after the snapshot must not come back.
_SAME_RUN = """
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local stored_run = redis.call('HGET', KEYS[1], 'r')
if stored_run and stored_run ~= run then redis.call('DEL', KEYS[1]) end
"""

# KEYS[1] family; ARGV: variant, token, lease_ms, guarded ("1"/"0")
READ_SCRIPT = (
    _NOW_MS
    + _SAME_RUN
    + """
local v = ARGV[1]
local got = redis.call('HMGET', KEYS[1], 'b:' .. v, 'x:' .. v, 'l:' .. v)
local expires = tonumber(got[2])
if got[1] and expires and expires > now then return {'hit', got[1]} end
if ARGV[4] ~= '1' then return {'build', ''} end
if got[3] then
  local deadline = tonumber(string.match(got[3], ':(%d+)$'))
  if deadline and deadline > now then return {'wait', ''} end
end
local lease_ms = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'l:' .. v, ARGV[2] .. ':' .. (now + lease_ms), 'r', run)
if redis.call('PTTL', KEYS[1]) < lease_ms then redis.call('PEXPIRE', KEYS[1], lease_ms) end
return {'build', ARGV[2]}
"""
)

# KEYS[1] family; ARGV: variant, token, page, ttl_ms, guarded ("1"/"0"), max_fields
STORE_SCRIPT = (
    _NOW_MS
    + _SAME_RUN
    + """
local v = ARGV[1]
if ARGV[5] == '1' then
  local lease = redis.call('HGET', KEYS[1], 'l:' .. v)
  local mine = ARGV[2] .. ':'
  if not lease or string.sub(lease, 1, #mine) ~= mine then return 0 end
  redis.call('HDEL', KEYS[1], 'l:' .. v)
  -- A lease past its deadline may have been taken over; and a bound on how long after
  -- its database read a page can be stored bounds how long an outbox entry matters.
  if tonumber(string.sub(lease, #mine + 1)) <= now then return 0 end
end
local max_fields = tonumber(ARGV[6])
if redis.call('HEXISTS', KEYS[1], 'b:' .. v) == 0 and redis.call('HLEN', KEYS[1]) >= 16 then
  -- A new variant in a family of several: first drop the expired variants and dead leases,
  -- so a family that gets new variants forever keeps only the live ones.
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    local name, value = fields[i], fields[i + 1]
    local kind = string.sub(name, 1, 2)
    if kind == 'x:' and tonumber(value) <= now then
      redis.call('HDEL', KEYS[1], name, 'b:' .. string.sub(name, 3))
    elseif kind == 'l:' then
      local deadline = tonumber(string.match(value, ':(%d+)$'))
      if deadline and deadline <= now then redis.call('HDEL', KEYS[1], name) end
    end
  end
  if redis.call('HLEN', KEYS[1]) >= max_fields then return 0 end
end
local ttl_ms = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'b:' .. v, ARGV[3], 'x:' .. v, now + ttl_ms, 'r', run)
if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end
return 1
"""
)

# KEYS[1] family; ARGV: variant, token
RELEASE_SCRIPT = """
local lease = redis.call('HGET', KEYS[1], 'l:' .. ARGV[1])
local mine = ARGV[2] .. ':'
if lease and string.sub(lease, 1, #mine) == mine then redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1]) end
return 0
"""


_RUN_ID = re.compile(rb"run_id:([0-9a-f]+)")

UNLINK_BATCH = 1000  # keys per UNLINK command on a single server


class StoreUnavailable(Exception):
    """Redis did not answer; the page is served from the database instead."""


@dataclass(frozen=True)
class ReadResult:
    status: str  # "hit", "build" (you hold the lease, or no guard) or "wait"
    page: bytes = b""
    token: str = ""


class PageStore:
    def __init__(self, cache_alias: str) -> None:
        self.cache_alias = cache_alias
        self._make_key = caches[cache_alias].make_key  # looked up once: family() runs per invalidated key
        # The run id of the server behind each pooled connection (on a cluster, of each node's).
        self._run_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # Connected on first use, inside `_unavailable_on_error`: a cluster client connects as it is made.
    @cached_property
    def client(self) -> redis.Redis | RedisCluster:
        return get_redis_connection(self.cache_alias)

    @cached_property
    def is_cluster(self) -> bool:
        return isinstance(self.client, RedisCluster)

    @cached_property
    def _read(self):
        return self.client.register_script(READ_SCRIPT)

    @cached_property
    def _store(self):
        return self.client.register_script(STORE_SCRIPT)

    @cached_property
    def _release(self):
        return self.client.register_script(RELEASE_SCRIPT)

    def family(self, key: str) -> str:
        return self._make_key(f"{{{key}}}")

    def read(self, key: str, variant: str, *, guarded: bool, lease_ms: int) -> ReadResult:
        family = self.family(key)
        with _unavailable_on_error():
            page = self._fresh_page(family, variant)
            if page is not None:
                return ReadResult("hit", page=page)
            token = secrets.token_hex(8) if guarded else ""
            status, payload = self._read(keys=[family], args=[variant, token, lease_ms, int(guarded)])
        status = status.decode()
        if status == "hit":
            return ReadResult("hit", page=payload)
        return ReadResult(status, token=payload.decode())

    def _fresh_page(self, family: str, variant: str) -> bytes | None:
        """The variant's page if one HMGET shows it fresh and of the server's current run, else None."""
        if self.is_cluster:  # the node that holds the family's slot, as the client last learnt it
            pool = self.client.get_redis_connection(self.client.get_node_from_key(family)).connection_pool
        else:
            pool = self.client.connection_pool
        connection = pool.get_connection()
        try:
            fields = ("HMGET", family, f"b:{variant}", f"x:{variant}", "r")
            run = self._run_of.get(connection)
            if run is None:
                connection.register_connect_callback(self._forget_run)
                connection.send_packed_command(connection.pack_commands([("INFO", "server"), fields]))
                run = _RUN_ID.search(connection.read_response()).group(1)
                self._run_of[connection] = run
            else:
                connection.send_command(*fields)
            try:
                page, expires, stored_run = connection.read_response()
            except redis.ResponseError:
                return None  # MOVED or ASK: the slot moved; the script's call follows the redirection
            if self._run_of.get(connection) is not run:
                return None  # it reconnected meanwhile: the run that answered is not known
        finally:
            pool.release(connection)
        if page is None or stored_run != run or int(expires) <= time.time() * 1000:
            return None
        return page

    def _forget_run(self, connection) -> None:
        self._run_of.pop(connection, None)

    def store(self, key: str, variant: str, page: bytes, *, token: str, ttl_ms: int, max_variants: int = 256) -> bool:
        """Store `page` unless (guarded) the lease `token` was invalidated meanwhile, or the family is full."""
        max_fields = 3 * max_variants + 1  # a page, its expiry and a lease per variant; the run id
        with _unavailable_on_error():
            stored = self._store(
                keys=[self.family(key)], args=[variant, token, page, ttl_ms, int(bool(token)), max_fields]
            )
        return bool(stored)

    def release(self, key: str, variant: str, token: str) -> None:
        with _unavailable_on_error():
            self._release(keys=[self.family(key)], args=[variant, token])

    def cached_variants(self, key: str) -> dict[str, bytes]:
        """Every stored page of `key`'s family by variant, expired or not (for verification, not serving)."""
        with _unavailable_on_error():
            fields = self.client.hgetall(self.family(key))
        return {name[2:].decode(): page for name, page in fields.items() if name.startswith(b"b:")}

    def ping(self) -> None:
        with _unavailable_on_error():
            self.client.ping()

    def cached_keys(self) -> Iterator[str]:
        """Every rule key with a family in Redis. Uses SCAN: for commands, never the write path."""
        pattern = self.family("*")
        prefix_length = pattern.index("{") + 1
        with _unavailable_on_error():
            for name in self.client.scan_iter(match=pattern, count=1000):
                yield name.decode()[prefix_length:-1]

    def add_stats(self, counts: dict[str, int]) -> None:
        with _unavailable_on_error():
            pipe = self.client.pipeline(transaction=False)
            for event, n in counts.items():
                pipe.hincrby(self.stats_key, event, n)
            pipe.execute()

    def read_stats(self) -> dict[str, int]:
        with _unavailable_on_error():
            return {name.decode(): int(value) for name, value in self.client.hgetall(self.stats_key).items()}

    @property
    def stats_key(self) -> str:
        return self._make_key("cache_sync:stats")

    def invalidate(self, keys: Iterable[str]) -> int:
        """Delete each key's family, in one round trip; returns how many keys were sent.

        UNLINK frees the memory off Redis's main thread. A single server gets one
        command per thousand keys; on a cluster, see `_unlink_on_each_node`.
        """
        families = [self.family(key) for key in keys]
        if not families:
            return 0
        with _unavailable_on_error():
            if self.is_cluster:
                self._unlink_on_each_node(families)
                return len(families)
            pipe = self.client.pipeline(transaction=False)
            for start in range(0, len(families), UNLINK_BATCH):
                pipe.unlink(*families[start : start + UNLINK_BATCH])
            pipe.execute()
        return len(families)

    def _unlink_on_each_node(self, families: list[str]) -> None:
        """One UNLINK per family (families lie in different slots), written to every node before any
        answer is read: one round trip per node, all at once. redis-py's cluster pipeline costs about
        30 µs of Python per command; this, a few. A family whose slot has moved (MOVED, ASK) is sent
        again through the cluster client, which follows the redirection."""
        by_node: dict[str, tuple[object, list[str]]] = {}
        for family in families:
            node = self.client.get_node_from_key(family)
            by_node.setdefault(node.name, (node, []))[1].append(family)
        sent, moved = [], []
        try:
            for node, names in by_node.values():
                pool = self.client.get_redis_connection(node).connection_pool
                connection = pool.get_connection()
                sent.append((pool, connection, names))
                connection.send_packed_command(connection.pack_commands([("UNLINK", name) for name in names]))
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
            pipe = self.client.pipeline(transaction=False)
            for name in moved:
                pipe.unlink(name)
            pipe.execute()


class _Breaker:
    """After a Redis error, this process skips Redis for a back-off (REDIS_BACKOFF).

    A paused or unreachable Redis then costs one timeout per process per back-off,
    not one per request: meanwhile pages come from the database and invalidations
    wait in the outbox.
    """

    open_until = 0.0
    # Set by an error, cleared by a catch-up: while Redis was away, writers may have left
    # invalidations in the outbox, so this process delivers them before it serves from Redis again.
    owes_catch_up = False

    def check(self) -> None:
        if time.monotonic() < self.open_until:
            raise StoreUnavailable("Redis skipped for a moment after an error")

    def trip(self) -> None:
        from .conf import get_config

        self.open_until = time.monotonic() + get_config().redis_backoff
        self.owes_catch_up = True

    def close(self) -> None:
        self.open_until = 0.0
        self.owes_catch_up = False


breaker = _Breaker()


class _unavailable_on_error:
    def __enter__(self) -> None:
        breaker.check()

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, redis.RedisError | RedisClusterException | OSError):
            breaker.trip()
            raise StoreUnavailable(str(exc)) from exc
        return False


_stores: dict[str, PageStore] = {}


def get_store(cache_alias: str) -> PageStore:
    if cache_alias not in _stores:
        _stores[cache_alias] = PageStore(cache_alias)
    return _stores[cache_alias]


def reset_stores(**kwargs) -> None:
    _stores.clear()
    breaker.close()
