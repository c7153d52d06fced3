"""`manage.py cache_sync`: rules, explain, invalidate, warm, verify, install-triggers."""

import contextlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cache_sync.tests import factories
from cache_sync.triggers import install_triggers, installed_triggers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def odes():
    return factories.book(factories.shelf("poetry"), "odes", "Odes")


def run(*args: str) -> str:
    out = StringIO()
    call_command("cache_sync", *args, stdout=out)
    return out.getvalue()


def test_explain_lists_the_keys_a_change_touches(odes):
    assert run("explain", "testapp.Shelf", str(odes.shelf.pk)).split() == ["shelf:poetry", "book:odes"]


def test_invalidate_on_demand(client, odes):
    client.get("/books/odes/")
    run("invalidate", "book:odes")
    assert client.get("/books/odes/")["X-Cache"] == "miss"


def test_rules_are_listed():
    assert "testapp.Book: invalidate book:{slug}, shelf:{shelf.slug}" in run("rules")


def test_warm_fills_the_anonymous_pages(client, odes):
    assert "Warmed" in run("warm")
    assert client.get("/books/odes/")["X-Cache"] == "hit"


@contextlib.contextmanager
def triggers_dropped(table: str):
    """A write no trigger sees: the one way left to change a row behind cache_sync's back."""
    on_table = f' ON "{table}"' if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        for name, found_on in installed_triggers("default").items():
            if found_on == table:
                cursor.execute(f'DROP TRIGGER "{name}"{on_table}')
    try:
        yield
    finally:
        install_triggers("default")


def test_verify_finds_a_page_changed_behind_the_caches_back(odes):
    run("warm")
    assert "0 differ" in run("verify")
    with triggers_dropped("testapp_book"), connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_book SET title = 'Behind its back'")
        out = StringIO()
        with pytest.raises(CommandError, match="differ from the database"):
            call_command("cache_sync", "verify", stdout=out)
    assert "differs: book:odes" in out.getvalue()


def test_install_triggers_reports_what_it_did():
    assert "Created 0 trigger(s), dropped 0" in run("install-triggers")
