"""`manage.py cache_sync`: rules, explain, invalidate, warm, verify, install-triggers."""

import contextlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from cache_sync.capture.triggers import install_triggers, installed_triggers
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from tools.harness.ports import quiet_port

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


def test_explain_takes_a_unique_field_as_well_as_the_primary_key(odes):
    assert run("explain", "testapp.Book", "odes").split() == ["book:odes", "shelf:poetry"]


def test_explain_says_whether_the_model_or_the_row_is_unknown(odes):
    with pytest.raises(CommandError, match=r"No testapp\.Book has pk or slug 'lapis'"):
        run("explain", "testapp.Book", "lapis")
    with pytest.raises(CommandError, match=r"Unknown model 'testapp\.Lapis'"):
        run("explain", "testapp.Lapis", "1")


def test_commands_say_in_one_line_that_redis_does_not_answer(cache_on):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    for command in (["stats"], ["verify"], ["warm"]):
        with pytest.raises(CommandError, match="does not answer") as raised:
            run(*command)
        assert "\n" not in str(raised.value)


def test_invalidate_without_redis_says_the_keys_wait_in_the_outbox(cache_on):
    cache_on(f"redis://127.0.0.1:{quiet_port()}/0")
    with pytest.raises(CommandError, match="wait in the outbox"):
        run("invalidate", "book:odes")
    assert OutboxEntry.objects.exists()


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
        for name, found in installed_triggers("default").items():
            if found.table == table:
                cursor.execute(f'DROP TRIGGER "{name}"{on_table}')
    try:
        yield
    finally:
        install_triggers("default")


def test_verify_finds_a_page_changed_behind_the_caches_back(odes):
    run("warm")
    assert "0 key(s) differ" in run("verify")
    with triggers_dropped("testapp_book"), connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_book SET title = 'Behind its back'")
        out = StringIO()
        with pytest.raises(CommandError, match="differ from the database"):
            call_command("cache_sync", "verify", stdout=out)
    assert "differs: book:odes" in out.getvalue()


def test_install_triggers_reports_what_it_did():
    assert "Created 0 trigger(s), replaced 0, dropped 0" in run("triggers", "install")
    assert "Created 0 trigger(s), replaced 0, dropped 0" in run("install-triggers")  # the older spelling


def test_verify_checks_every_variant_and_names_the_fix(odes):
    cached(Client(), "/shelves/poetry/?page=2")  # only a variant with a query is cached
    with triggers_dropped("testapp_shelf"), connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_shelf SET name = 'Behind its back'")
        out = StringIO()
        with pytest.raises(CommandError, match="cache_sync invalidate shelf:poetry"):
            call_command("cache_sync", "verify", stdout=out)
    assert "differs: shelf:poetry" in out.getvalue() and "page=2" in out.getvalue()


def test_verify_builds_a_signed_in_variant_as_its_visitor(odes, django_user_model):
    reader = django_user_model.objects.create_user("ann")
    client = Client()
    client.force_login(reader)
    cached(client, "/greetings/home/")
    assert "1 cached page variant(s): 0 key(s) differ" in run("verify")
    django_user_model.objects.filter(pk=reader.pk).update(username="anne")  # her old variant is never served again
    assert "could not be built again: 0 key(s) differ" in run("verify")
