"""The site's settings plus the load test's own migration of catalog.Product (the fault run's `migrate`)."""

from website.settings import *  # noqa: F403

MIGRATION_MODULES = {"catalog": "loadtests.fault_migrations"}
