"""A django-redis client for Redis Cluster, configured in CACHES alone:

    CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://10.0.0.1:7000/0",  # any node: the others are discovered
        "OPTIONS": {"CLIENT_CLASS": "cache_sync.cluster.ClusterClient", "SOCKET_TIMEOUT": 0.05},
    }}

django-redis ships none. Keys of one family share a hash tag, so every script of
cache_sync touches one slot; an invalidation batch sends one UNLINK per family
to every node before it reads any answer (`PageStore._unlink_on_each_node`).
"""

from __future__ import annotations

from django_redis.client import DefaultClient
from redis.cluster import RedisCluster

# django-redis OPTIONS that mean the same for a cluster client.
_PASSED_ON = {"SOCKET_TIMEOUT": "socket_timeout", "SOCKET_CONNECT_TIMEOUT": "socket_connect_timeout"}


class ClusterClient(DefaultClient):
    def connect(self, index: int = 0) -> RedisCluster:
        kwargs = {name: self._options[option] for option, name in _PASSED_ON.items() if option in self._options}
        if self._options.get("PASSWORD"):
            kwargs["password"] = self._options["PASSWORD"]
        return RedisCluster(url=self._server[index], **kwargs)

    def disconnect(self, index: int = 0, client: RedisCluster | None = None) -> None:
        client = client or self._clients[index]
        if client is not None:
            client.close()
