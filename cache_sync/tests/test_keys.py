import pytest

from cache_sync.capture.outbox import Change
from cache_sync.delivery.affected import affected_keys
from cache_sync.keys import KeyTemplate, TemplateSyntaxError


def test_a_template_renders_the_value_at_the_end_of_each_path():
    assert KeyTemplate.parse("category:{category.slug}").render_values({("category", "slug"): "tea"}) == "category:tea"
    assert KeyTemplate.parse("product:{slug}").render_values({("slug",): "jade-teapot"}) == "product:jade-teapot"
    assert KeyTemplate.parse("home").render_values({}) == "home"


@pytest.mark.django_db
def test_a_missing_relation_renders_no_key():
    change = Change(0, "testapp.Book", [{"pk": 1, "slug": "odes", "shelf_id": None}])
    assert list(affected_keys([change], "default").all_keys()) == ["book:odes"]


def test_match_recovers_the_placeholder_values():
    assert KeyTemplate.parse("profile:{username}").match("profile:alice") == {"username": "alice"}
    assert KeyTemplate.parse("profile:{username}").match("product:alice") is None


@pytest.mark.parametrize("text", ["", "a:{", "a:{}", "a:{x[0]}", "a:{x:>3}", "a:{{x}}", 7])
def test_malformed_templates_are_refused(text):
    with pytest.raises(TemplateSyntaxError):
        KeyTemplate.parse(text)


def test_a_key_many_rows_share_is_rendered_once_and_an_unhashable_value_still_renders():
    from cache_sync.delivery.affected import _render_rows
    from cache_sync.tests.testapp.models import Book

    templates = (KeyTemplate.parse("book:{slug}"), KeyTemplate.parse("books"))
    rows = [{"pk": n, "slug": slug} for n, slug in enumerate(["odes", "odes", ["a", "list"]])]
    assert list(_render_rows(Book, templates, rows, "default")) == ["book:odes", "book:['a', 'list']", "books"]


@pytest.mark.django_db(transaction=True)
def test_a_key_naming_the_primary_key_by_its_field_keeps_the_old_value_of_a_renamed_row(settings):
    """`{id}` is the row's "pk": were it loaded again from the database, so would the renamed slug be."""
    from cache_sync import keys_invalidated
    from cache_sync.tests import factories

    rule = settings.CACHE_SYNC["RULES"]["testapp.Book"]
    settings.CACHE_SYNC = {
        **settings.CACHE_SYNC,
        "RULES": {**settings.CACHE_SYNC["RULES"], "testapp.Book": {**rule, "keys": [*rule["keys"], "book-id:{id}"]}},
    }
    book = factories.book(factories.shelf("poetry"), "odes")
    seen: list[str] = []

    def note(sender, keys=(), **kwargs):
        seen.extend(keys)

    keys_invalidated.connect(note, dispatch_uid="test-old-keys")
    try:
        book.slug = "epodes"
        book.save()
    finally:
        keys_invalidated.disconnect(dispatch_uid="test-old-keys")
    assert {"book:odes", "book:epodes", f"book-id:{book.pk}"} <= set(seen)
