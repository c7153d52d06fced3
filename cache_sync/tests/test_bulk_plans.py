"""A long-lived worker's bulk writes (PostgreSQL): the triggers' cached plans stay linear in the rows.

PL/pgSQL keeps the plan a trigger's statement got at its first call. A worker
that saved single rows first holds plans made for transition tables of one row;
the plan of the UPDATE trigger's join must not be a nested loop, which is
quadratic when a later statement changes thousands of rows. The plans are read
from auto_explain's log of the statements run inside the trigger, sent to this
client (client_min_messages = log), not timed.
"""

import pytest
from django.db import connection

from cache_sync.tests import factories
from cache_sync.tests.testapp.models import Book

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="statement triggers and their plans: PostgreSQL's"),
]


def _logged_plans(write) -> str:
    notices = []
    connection.ensure_connection()
    raw = connection.connection
    raw.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary or ""))
    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
        cursor.execute("SET auto_explain.log_nested_statements = on")
        cursor.execute("SET client_min_messages = log")
    try:
        write()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET client_min_messages")
            cursor.execute("SET auto_explain.log_min_duration = -1")
    return "\n".join(notices)


def test_an_update_of_many_rows_after_single_saves_joins_without_a_nested_loop():
    shelf = factories.shelf()
    Book.objects.bulk_create(Book(shelf=shelf, slug=f"b{n}", title=f"B {n}") for n in range(200))
    book = Book.objects.first()
    for n in range(20):  # as a worker that served saves: the trigger's plan is made for one row
        book.title = f"Saved {n}"
        book.save()

    logged = _logged_plans(lambda: Book.objects.update(title="Renamed")).split("\nduration: ")
    # The trigger's statement (the writer's delivery is logged too: its read unnests each entry's rows).
    plans = "\n".join(plan for plan in logged if "old_rows" in plan)

    assert "old_rows" in plans and "new_rows" in plans  # the trigger's statement was logged
    assert "Nested Loop" not in plans
