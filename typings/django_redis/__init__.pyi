# The names of django-redis that cache_sync uses (django-redis ships no types).
from redis import Redis
from redis.cluster import RedisCluster

def get_redis_connection(alias: str = "default", write: bool = True) -> Redis | RedisCluster: ...
