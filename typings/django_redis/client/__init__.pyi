from typing import Any

from redis import Redis
from redis.cluster import RedisCluster

class DefaultClient:
    _server: list[str]
    _options: dict[str, Any]
    _clients: list[Any]
    def __init__(self, server: str | list[str], params: dict[str, Any], backend: Any) -> None: ...
    def connect(self, index: int = 0) -> Redis | RedisCluster: ...
    def disconnect(self, index: int = 0, client: Any = None) -> None: ...

def __getattr__(name: str) -> Any: ...
