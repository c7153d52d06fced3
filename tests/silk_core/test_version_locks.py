"""Raising versions takes no row lock a writer of another row would wait for (PostgreSQL's key-update locks)."""

import threading

import pytest
from django.db import connection, transaction

from catalog.models import Category, Product

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the key-update row lock is PostgreSQL's"),
]


def hold_open_transaction_that(write, done: threading.Event, release: threading.Event) -> threading.Thread:
    def hold() -> None:
        try:
            with transaction.atomic():
                write()
                done.set()
                release.wait(60)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "save",
    [
        lambda pk: Category.objects.get(pk=pk).save(),
        lambda pk: Category.objects.filter(pk=pk).update(name="Teas"),
    ],
    ids=["save", "update"],
)
def test_a_product_insert_completes_while_a_category_save_is_open(save):
    tea = Category.objects.create(name="Tea", slug="tea")
    saved, release = threading.Event(), threading.Event()
    thread = hold_open_transaction_that(lambda: save(tea.pk), saved, release)
    try:
        assert saved.wait(60)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Blocked behind the open transaction, the insert fails here instead of hanging.
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            Product.objects.create(name="Jade Teapot", slug="jade-teapot", price=3, category=tea)
    finally:
        release.set()
        thread.join()
    assert Category.objects.get(pk=tea.pk).version == 2
