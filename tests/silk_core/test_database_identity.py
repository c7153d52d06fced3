"""Cached pages belong to their database: the database's identity is part of every cache key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command

from silk_core.database_identity.models import DatabaseIdentity

ROOT = Path(__file__).resolve().parents[2]

CACHE_ALICE = """
from django.test import Client
from accounts.models import User
User.objects.create_user("alice", "alice@example.org", "x", display_name="Alice of the first database")
client = Client()
client.get("/users/alice/")
response = client.get("/users/alice/")
print(response.status_code, response["X-Cache"])
"""
READ_ALICE = """
from django.test import Client
print(Client().get("/users/alice/").status_code)
"""


def manage(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().rpartition("\n")[2]  # after shell's "objects imported automatically"


@pytest.mark.django_db
def test_the_key_names_the_database_identity():
    assert cache.make_key("home").split(":")[1] == DatabaseIdentity.objects.get().value


@pytest.mark.django_db(transaction=True)
def test_every_process_on_the_same_database_computes_the_same_keys(site_env):
    printed = manage(site_env, "shell", "-c", "from django.core.cache import cache; print(cache.make_key('home'))")
    assert printed == cache.make_key("home")


@pytest.mark.django_db(transaction=True)
def test_a_flushed_database_gets_a_new_identity():
    before = cache.make_key("home")
    call_command("flush", "--noinput")
    assert cache.make_key("home") != before
    assert cache.make_key("home").split(":")[1] == DatabaseIdentity.objects.get().value


def test_a_recreated_database_is_never_served_the_old_databases_pages(site_env, tmp_path):
    """Two databases, one Redis, one KEY_PREFIX: what the first cached, the second never serves."""
    env = {**site_env, "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1"}
    first = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'first.sqlite3'}"}
    manage(first, "migrate", "-v0")
    assert manage(first, "shell", "-c", CACHE_ALICE) == "200 hit"
    second = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'second.sqlite3'}"}  # db.sqlite3 deleted and re-created
    manage(second, "migrate", "-v0")
    assert manage(second, "shell", "-c", READ_ALICE) == "404"
