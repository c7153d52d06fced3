from cache_sync.tests.fixtures import (  # noqa: F401  (fixtures)
    cache_on,
    empty_redis,
    own_redis,
    page_family,
    redis_client,
    redis_round_trips,
    site_env,
)
from cache_sync.tests.postgres_servers import own_postgres, postgres_servers  # noqa: F401  (fixtures)
