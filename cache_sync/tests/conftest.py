from tools.harness.pytest_cache import (  # noqa: F401  (fixtures)
    cache_on,
    empty_redis,
    page_family,
    redis_client,
    redis_round_trips,
    site_env,
)
from tools.harness.pytest_servers import own_postgres, own_redis, postgres_servers  # noqa: F401  (fixtures)
