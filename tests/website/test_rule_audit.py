"""The demo site's own rule audit: every read of its cached pages is invalidated by a rule."""

from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from accounts.models import User
from cache_sync.observe.audit import audit_url, site_urls, uncovered
from cache_sync.observe.audit_checks import check_rule_audit
from tests.factories import make_category, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    tea = make_category("tea")
    make_product(tea, "jade-teapot")
    make_product(make_category("rugs"), "silk-rug")
    User.objects.create_user("amina", display_name="Amina", bio="Weaver")


def test_the_site_audit_finds_no_uncovered_read(catalog):
    out = StringIO()
    call_command("cache_sync", "audit", stdout=out)
    assert "Audited 4 page(s): 0 read(s) no rule invalidates." in out.getvalue()


def test_the_audit_covers_each_kind_of_cached_page_with_its_reads(catalog):
    pages = {page.key: page for page in map(audit_url, site_urls())}
    assert set(pages) == {"home", "category:tea", "product:jade-teapot", "profile:amina"}  # first rows
    assert pages["product:jade-teapot"].fields["catalog.Category"] == ["name", "slug", "version"]
    assert uncovered(list(pages.values())) == []


def test_without_its_stated_exception_the_audit_names_the_profile_version(settings, catalog):
    settings.CACHE_SYNC = {**django_settings.CACHE_SYNC, "AUDIT_IGNORE": []}
    (finding,) = audit_url("/users/amina/").findings
    assert finding.message == "accounts.User.version is read but left out of the rule's `fields`."


def test_a_category_rule_without_its_products_relation_is_named_on_product_pages(settings, catalog):
    rules = {**django_settings.CACHE_SYNC["RULES"], "catalog.Category": {"keys": ["category:{slug}", "home"]}}
    settings.CACHE_SYNC = {**django_settings.CACHE_SYNC, "RULES": rules}
    (finding,) = audit_url("/products/jade-teapot/").findings
    assert (finding.kind, finding.model) == ("related", "catalog.Category")
    assert "'related': {'products': ['product:{slug}']}" in finding.message


def test_the_site_check_w040_is_quiet(settings, catalog):
    settings.CACHE_SYNC = {**django_settings.CACHE_SYNC, "AUDIT_CHECK": True}
    assert check_rule_audit() == []
