"""The statement hook stays first in `execute_wrappers`: an `execute_wrapper()` block that was open when the
connection (re)connected pops its own wrapper on exit, never the hook."""

import pytest
from django.db import connection

from cache_sync.delivery.receivers import WatchedWriteHook
from cache_sync.models import OutboxEntry
from cache_sync.tests import factories
from cache_sync.tests.helpers import cached
from cache_sync.tests.testapp.models import Book

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_execute_wrapper_block_that_opened_the_connection_leaves_the_hook_installed(client):
    factories.book(factories.shelf("poetry"), "odes", "Odes")
    cached(client, "/books/odes/")
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    connection.close()
    with connection.execute_wrapper(wrapper):
        assert Book.objects.count() == 1  # connects: the hook is installed inside the block
    assert seen
    assert wrapper not in connection.execute_wrappers
    assert [w for w in connection.execute_wrappers if isinstance(w, WatchedWriteHook)]
    Book.objects.filter(slug="odes").update(title="Odes, revised")
    assert not OutboxEntry.objects.exists()  # the writer delivered it
    assert client.get("/books/odes/")["X-Cache"] == "miss"
