"""The suite's settings with a read replica: `default` is a private primary, `replica` a streaming
replica of it (CACHE_SYNC_TEST_REPLICA_URL), and reads go to the replica through cache_sync's router.
Used by test_replicas.py, which starts both servers and runs replica_scenarios.py in a child pytest."""

import os

from cache_sync.tests.settings import *  # noqa: F403
from cache_sync.tests.settings import CACHE_SYNC, _database

DATABASES = {
    "default": _database(os.environ["DATABASE_URL"]),
    # A real standby: the test database created on the primary reaches it by replication.
    "replica": {**_database(os.environ["CACHE_SYNC_TEST_REPLICA_URL"]), "TEST": {"MIRROR": "default"}},
}
DATABASE_ROUTERS = ["cache_sync.replicas.ReplicaRouter"]
CACHE_SYNC = {**CACHE_SYNC, "REPLICAS": {"replica": "default"}}
