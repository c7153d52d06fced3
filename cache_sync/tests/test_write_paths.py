"""Every write path reaches the cache before the writer returns: triggers record, the writer delivers."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from redis.cluster import RedisCluster

from cache_sync.tests import factories
from cache_sync.tests.helpers import cached, page
from cache_sync.tests.testapp.models import Book, Reader, Shelf, Tag

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def odes():
    poetry = factories.shelf("poetry")
    factories.shelf("prose")
    return factories.book(poetry, "odes", "Odes")


def test_save_shows_on_the_book_and_shelf_pages(client, odes):
    cached(client, "/books/odes/", "/shelves/poetry/")
    odes.title = "Odes and Elegies"
    odes.save()
    assert "Odes and Elegies" in page(client, "/books/odes/")
    assert "Odes and Elegies" in page(client, "/shelves/poetry/")


def test_queryset_update_shows_at_once(client, odes):
    cached(client, "/books/odes/")
    Book.objects.filter(slug="odes").update(title="Updated Odes")
    assert "Updated Odes" in page(client, "/books/odes/")


def test_queryset_update_that_moves_a_book_clears_the_old_shelf(client, odes):
    cached(client, "/shelves/poetry/", "/shelves/prose/")
    Book.objects.filter(slug="odes").update(shelf=Shelf.objects.get(slug="prose"))
    assert "Odes" not in page(client, "/shelves/poetry/")
    assert "Odes" in page(client, "/shelves/prose/")


def test_bulk_update_shows_after_commit_not_before(client, odes):
    cached(client, "/books/odes/")
    odes.title = "Bulk Odes"
    with transaction.atomic():
        Book.objects.bulk_update([odes], ["title"])
        assert client.get("/books/odes/")["X-Cache"] == "hit"
    assert "Bulk Odes" in page(client, "/books/odes/")


def test_bulk_create_shows_on_the_shelf_page(client, odes):
    cached(client, "/shelves/poetry/")
    Book.objects.bulk_create([Book(title="Sonnets", slug="sonnets", shelf=odes.shelf)])
    assert "Sonnets" in page(client, "/shelves/poetry/")


def test_raw_sql_through_djangos_connection(client, odes):
    cached(client, "/books/odes/")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_book SET title = %s WHERE slug = %s", ["Raw Odes", "odes"])
    assert "Raw Odes" in page(client, "/books/odes/")


def test_raw_sql_in_upper_case(client, odes):
    cached(client, "/books/odes/")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE TESTAPP_BOOK SET TITLE = %s WHERE SLUG = %s", ["Shouted Odes", "odes"])
    assert "Shouted Odes" in page(client, "/books/odes/")


def test_queryset_delete(client, odes):
    cached(client, "/books/odes/", "/shelves/poetry/")
    Book.objects.filter(slug="odes").delete()
    assert client.get("/books/odes/").status_code == 404
    assert "Odes" not in page(client, "/shelves/poetry/")


def test_data_migration_with_historical_models(client, odes):
    cached(client, "/shelves/poetry/")
    HistoricalBook = MigrationExecutor(connection).loader.project_state().apps.get_model("testapp", "Book")
    assert HistoricalBook is not Book
    with transaction.atomic():
        row = HistoricalBook.objects.get(slug="odes")
        row.title = "Migrated Odes"
        row.save()
    assert "Migrated Odes" in page(client, "/shelves/poetry/")


def test_loaddata_over_an_existing_row_clears_its_old_shelf(client, odes, tmp_path):
    cached(client, "/shelves/poetry/", "/shelves/prose/")
    prose = Shelf.objects.get(slug="prose")
    fixture = tmp_path / "moved.json"
    fixture.write_text(
        f'[{{"model": "testapp.book", "pk": {odes.pk}, "fields": {{"title": "Odes", "slug": "odes",'
        f' "shelf": {prose.pk}, "times_opened": 0, "tags": []}}}}]'
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert "Odes" not in page(client, "/shelves/poetry/")
    assert "Odes" in page(client, "/shelves/prose/")


def test_a_stale_instance_clears_the_url_the_row_has_now(client, odes):
    """Old keys come from the database: this instance never saw the rename to elegies."""
    stale = Book.objects.get(slug="odes")
    Book.objects.filter(slug="odes").update(slug="elegies")
    cached(client, "/books/elegies/")
    stale.title = "Odes Again"
    stale.save()  # writes slug "odes" back: /books/elegies/ is gone
    assert client.get("/books/elegies/").status_code == 404
    assert "Odes Again" in page(client, "/books/odes/")


def test_a_related_row_loaded_before_its_rename_does_not_hide_the_new_name(client, odes):
    book = Book.objects.select_related("shelf").get(slug="odes")
    assert book.shelf.slug == "poetry"  # cached on the instance
    Shelf.objects.filter(slug="poetry").update(slug="verse")
    cached(client, "/shelves/verse/")
    book.title = "Renamed Shelf Odes"
    book.save()
    assert "Renamed Shelf Odes" in page(client, "/shelves/verse/")


def test_a_retried_transaction_with_the_same_instance_clears_the_old_state(client, odes):
    book = Book.objects.get(slug="odes")
    with pytest.raises(RuntimeError), transaction.atomic():
        book.shelf = Shelf.objects.get(slug="prose")
        book.save()
        raise RuntimeError("deadlock, retry")
    cached(client, "/shelves/poetry/")
    book.save()  # in memory the book "was" on prose already
    assert "Odes" not in page(client, "/shelves/poetry/")


def test_a_failing_on_commit_callback_registered_first_does_not_drop_the_invalidation(client, odes):
    cached(client, "/books/odes/")

    def enqueue_task():
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError), transaction.atomic():
        transaction.on_commit(enqueue_task)  # not robust: Django stops at it
        Book.objects.filter(slug="odes").update(title="Committed Odes")
    assert "Committed Odes" in page(client, "/books/odes/")


def test_a_write_transaction_costs_one_redis_round_trip(odes, redis_round_trips, redis_client):
    # On a cluster: one per node, as these families lie on every node.
    nodes = len(redis_client.get_primaries()) if isinstance(redis_client, RedisCluster) else 1
    before = redis_round_trips()
    with transaction.atomic():
        for n in range(50):
            Book.objects.create(title=f"Book {n}", slug=f"book-{n}", shelf=odes.shelf)
        Book.objects.filter(shelf=odes.shelf).update(title="Same")
        Shelf.objects.filter(slug="prose").update(name="Prose and Essays")
        assert redis_round_trips() == before
    assert redis_round_trips() - before == nodes


def test_a_rolled_back_transaction_invalidates_nothing(client, odes):
    cached(client, "/books/odes/")
    with pytest.raises(RuntimeError), transaction.atomic():
        Book.objects.filter(slug="odes").update(title="Never")
        raise RuntimeError("abort")
    assert client.get("/books/odes/")["X-Cache"] == "hit"


def test_renaming_a_shelf_fans_out_to_its_books(client, odes):
    factories.book(odes.shelf, "sonnets")
    cached(client, "/books/odes/", "/books/sonnets/")
    Shelf.objects.filter(slug="poetry").update(name="Verse")
    assert client.get("/books/odes/")["X-Cache"] == "miss"
    assert client.get("/books/sonnets/")["X-Cache"] == "miss"


def test_a_change_of_a_field_outside_the_rules_fields_touches_nothing(client, odes):
    cached(client, "/books/odes/")
    Book.objects.filter(slug="odes").update(times_opened=5)
    assert client.get("/books/odes/")["X-Cache"] == "hit"


# Many-to-many: both directions, clear(), a custom primary key, a field with no reverse accessor.


@pytest.fixture
def verse():
    return factories.tag("verse", "Verse")


def test_adding_a_tag_from_the_book_side_clears_both_pages(client, odes, verse):
    cached(client, "/books/odes/", "/tags/verse/")
    odes.tags.add(verse)
    assert "tags=Verse" in page(client, "/books/odes/")
    assert "Odes" in page(client, "/tags/verse/")


def test_adding_a_book_from_the_tag_side_clears_both_pages(client, odes, verse):
    cached(client, "/books/odes/", "/tags/verse/")
    verse.books.add(odes)
    assert "tags=Verse" in page(client, "/books/odes/")
    assert "Odes" in page(client, "/tags/verse/")


@pytest.mark.parametrize("side", ["book", "tag"])
def test_clear_clears_the_other_side_too(client, odes, verse, side):
    odes.tags.add(verse)
    cached(client, "/books/odes/", "/tags/verse/")
    if side == "book":
        odes.tags.clear()
    else:
        verse.books.clear()
    assert "tags= readers" in page(client, "/books/odes/")
    assert "Odes" not in page(client, "/tags/verse/")


def test_a_many_to_many_without_reverse_accessor_from_a_model_without_rule(client, odes):
    reader = Reader.objects.create(name="Ann")
    cached(client, "/books/odes/")
    reader.favourites.add(odes)
    assert "readers=1" in page(client, "/books/odes/")


def test_a_custom_primary_key_renders_its_key(client, verse):
    cached(client, "/tags/verse/")
    Tag.objects.filter(code="verse").update(label="Poems")
    assert "Poems" in page(client, "/tags/verse/")
