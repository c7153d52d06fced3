"""`cache_sync audit` and check W040: the reads of each page, and every read no rule invalidates."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db.models.query_utils import DeferredAttribute

from cache_sync.observe.audit import audit_url, site_urls
from cache_sync.observe.audit_checks import check_rule_audit
from cache_sync.observe.audit_reads import recording_reads
from cache_sync.tests import factories
from cache_sync.tests.settings import CACHE_SYNC
from cache_sync.tests.testapp.models import Book, Shelf

pytestmark = [pytest.mark.django_db, pytest.mark.urls("cache_sync.tests.outside_urls")]

RULES = CACHE_SYNC["RULES"]


@pytest.fixture
def odes():
    book = factories.book(factories.shelf("poetry", "Poetry"), "odes", "Odes")
    book.tags.add(factories.tag("verse"))
    return book


def rules(settings, drop=(), options=None, **changed):
    kept = {label: rule for label, rule in {**RULES, **changed}.items() if label not in drop}
    settings.CACHE_SYNC = {**CACHE_SYNC, **(options or {}), "RULES": kept}


def findings(url):
    return [(finding.kind, finding.model) for finding in audit_url(url).findings]


def test_audit_names_the_models_rows_and_fields_a_page_read(odes):
    page = audit_url("/on-shelf/odes/")
    assert page.key == "book:odes"
    assert page.rows == {"testapp.Book": [str(odes.pk)], "testapp.Shelf": [str(odes.shelf.pk)]}
    assert page.fields["testapp.Book"] == ["shelf", "slug", "title"]
    assert page.fields["testapp.Shelf"] == ["name"]
    assert page.findings == []


def test_a_model_without_a_rule_is_named(settings, odes):
    rules(settings, drop=["testapp.Shelf"])
    assert findings("/on-shelf/odes/") == [("no rule", "testapp.Shelf")]


def test_a_relation_missing_from_related_is_named_with_the_one_to_add(settings, odes):
    rules(settings, **{"testapp.Shelf": {"keys": ["shelf:{slug}"]}})
    (finding,) = audit_url("/on-shelf/odes/").findings
    assert (finding.kind, finding.model) == ("related", "testapp.Shelf")
    assert "'related': {'books': ['book:{slug}']}" in finding.message


def test_a_loaded_row_is_judged_by_the_keys_it_renders(settings, odes):
    # `book:{title}` has the page's shape (book:*) but renders book:Odes, never book:odes.
    rules(settings, **{"testapp.Book": {**RULES["testapp.Book"], "keys": ["book:{title}", "shelf:{shelf.slug}"]}})
    assert findings("/on-shelf/odes/") == [("related", "testapp.Book")]


def test_a_table_read_without_rows_is_judged_by_the_shape_of_the_keys(settings, odes):
    # The shelf page lists its books' titles (values_list: no Book row is loaded).
    assert findings("/shelves/poetry/") == []
    rules(settings, **{"testapp.Book": {**RULES["testapp.Book"], "keys": ["book:{slug}"]}})
    assert findings("/shelves/poetry/") == [("related", "testapp.Book")]


def test_a_field_left_out_of_fields_is_named(settings, odes):
    rules(settings, **{"testapp.Book": {**RULES["testapp.Book"], "fields": ["slug", "shelf", "tags"]}})
    page = audit_url("/on-shelf/odes/")
    assert [(f.kind, f.message) for f in page.findings] == [
        ("fields", "testapp.Book.title is read but left out of the rule's `fields`.")
    ]


def test_a_column_named_in_the_sql_counts_as_read(settings, odes):
    # The shelf page reads no Book attribute: it filters, orders and selects columns in SQL.
    rules(settings, **{"testapp.Book": {**RULES["testapp.Book"], "fields": ["title", "tags"]}})
    assert {f.message for f in audit_url("/shelves/poetry/").findings} == {
        "testapp.Book.shelf is read but left out of the rule's `fields`.",
        "testapp.Book.slug is read but left out of the rule's `fields`.",
    }


def test_a_many_to_many_table_is_a_read_of_the_model_that_declares_it(settings, odes):
    # The book page shows its tags' labels and counts its readers (Reader has no rule).
    page = audit_url("/books/odes/")
    assert "tags" in page.fields["testapp.Book"]
    assert ("no rule", "testapp.Reader") in [(f.kind, f.model) for f in page.findings]


def test_audit_ignore_accepts_named_models_and_fields(settings, odes):
    rules(
        settings,
        drop=["testapp.Shelf"],
        options={"AUDIT_IGNORE": ["testapp.Shelf", "testapp.Book.title"]},
        **{"testapp.Book": {**RULES["testapp.Book"], "fields": ["slug", "shelf", "tags"]}},
    )
    assert findings("/on-shelf/odes/") == []


def test_a_proxy_sharing_a_table_is_no_model_of_its_own(odes):
    class HardbackBook(Book):
        class Meta:
            proxy = True
            app_label = "testapp"

    try:
        assert set(audit_url("/on-shelf/odes/").rows) == {"testapp.Book", "testapp.Shelf"}
    finally:
        apps.all_models["testapp"].pop("hardbackbook")
        apps.clear_cache()


def test_recording_leaves_the_models_as_they_were(odes):
    with recording_reads() as reads:
        assert Book.objects.get(pk=odes.pk).title == "Odes"
    assert isinstance(Book.__dict__["title"], DeferredAttribute)
    assert "title" not in Shelf.__dict__ or isinstance(Shelf.__dict__.get("name"), DeferredAttribute)
    assert reads.attributes[Book] == {"title"}
    assert Book.objects.get(pk=odes.pk).title == "Odes"


def test_audit_changes_nothing_in_the_database(odes):
    audit_url("/on-shelf/odes/")
    assert Book.objects.get(pk=odes.pk).title == "Odes"


def test_audit_command_fails_naming_each_uncovered_read(settings, odes):
    rules(settings, drop=["testapp.Shelf"])
    out = StringIO()
    with pytest.raises(CommandError, match="1 read"):
        call_command("cache_sync", "audit", "/on-shelf/odes/", stdout=out)
    assert "UNCOVERED [no rule] testapp.Shelf has no rule." in out.getvalue()


def test_audit_command_says_when_a_url_is_no_cached_page(odes):
    out = StringIO()
    call_command("cache_sync", "audit", "/metrics", "/nowhere/", stdout=out)
    assert "not a cached page" in out.getvalue()
    assert "no URL pattern matches it" in out.getvalue()


def test_site_urls_are_one_per_cached_view_a_rule_names(odes):
    # book:{slug}, shelf:{slug} and tag:{code} are keys of rules; plain:{name} and the others are not.
    assert {"/books/odes/", "/shelves/poetry/", "/tags/verse/"} <= set(site_urls())
    assert not [url for url in site_urls() if url.startswith("/plain/")]


def test_check_w040_names_uncovered_reads_when_asked(settings, odes):
    settings.CACHE_SYNC = {**CACHE_SYNC, "AUDIT_CHECK": True}
    warnings = check_rule_audit()
    assert warnings and {w.id for w in warnings} == {"cache_sync.W040"}
    assert any("testapp.Reader has no rule" in w.msg for w in warnings)


def test_check_w040_runs_in_debug_only_unless_asked(settings, odes):
    settings.DEBUG = False
    assert check_rule_audit() == []
    settings.DEBUG = True
    assert check_rule_audit() != []
    settings.CACHE_SYNC = {**CACHE_SYNC, "AUDIT_CHECK": False}
    assert check_rule_audit() == []
