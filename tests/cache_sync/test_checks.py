"""A wrong CACHE_SYNC fails `manage.py check` with an error that names the setting."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings

from cache_sync.checks import check_cache_sync
from cache_sync.triggers import install_triggers, installed_triggers

GOOD = {
    "CACHE": "default",
    "TIMEOUT": 60,
    "RULES": {
        "catalog.Product": {"action": "invalidate", "keys": ["product:{slug}", "category:{category.slug}"]},
        "catalog.Category": {"keys": ["category:{slug}"], "related": {"products": ["product:{slug}"]}},
        "accounts.User": {"action": "rebuild", "keys": ["profile:{username}"]},
    },
}


def rules(**rule) -> dict:
    return {**GOOD, "RULES": {"catalog.Product": rule}}


def errors_for(cache_sync: object, **extra) -> list[tuple[str, str]]:
    with override_settings(CACHE_SYNC=cache_sync, **extra):
        return [(error.id, error.msg) for error in check_cache_sync()]


def test_good_settings_pass():
    assert errors_for(GOOD) == []


def test_the_sites_own_settings_pass():
    call_command("check")


@pytest.mark.parametrize(
    ("cache_sync", "error_id", "says"),
    [
        ("not a dict", "cache_sync.E001", "CACHE_SYNC must be a dict"),
        ({**GOOD, "TIMOUT": 5}, "cache_sync.E001", "unknown option 'TIMOUT'"),
        ({**GOOD, "CACHE": "nowhere"}, "cache_sync.E002", "'nowhere', which is not in CACHES"),
        ({**GOOD, "TIMEOUT": -1}, "cache_sync.E004", "CACHE_SYNC['TIMEOUT']"),
        ({**GOOD, "STRATEGY": "fast"}, "cache_sync.E005", "'fast'"),
        ({**GOOD, "RULES": ["catalog.Product"]}, "cache_sync.E010", "CACHE_SYNC['RULES'] must be a dict"),
        (rules(keys=["x"], when="always"), "cache_sync.E010", "unknown option 'when'"),
        ({**GOOD, "RULES": {"catalog.Nope": {"keys": ["x"]}}}, "cache_sync.E011", "unknown model 'catalog.Nope'"),
        ({**GOOD, "RULES": {"Product": {"keys": ["x"]}}}, "cache_sync.E011", "'app_label.ModelName'"),
        (rules(action="refresh", keys=["x"]), "cache_sync.E012", "unknown action 'refresh'"),
        (rules(keys=[]), "cache_sync.E013", "non-empty list"),
        (rules(keys=["product:{slug"]), "cache_sync.E013", "malformed key template"),
        (rules(keys=["product:{slug!r}"]), "cache_sync.E013", "malformed key template"),
        (rules(keys=["product:{sku}"]), "cache_sync.E014", "has no field 'sku'"),
        (rules(keys=["c:{category.title}"]), "cache_sync.E014", "catalog.Category has no field 'title'"),
        (rules(keys=["c:{name.slug}"]), "cache_sync.E014", "not a forward relation"),
        (rules(keys=["p:{slug}"], related={"reviews": ["r:{pk}"]}), "cache_sync.E015", "no relation 'reviews'"),
        (rules(keys=["p:{slug}"], fields="price"), "cache_sync.E016", "must be a list of field names"),
        (rules(keys=["p:{slug}"], fields=["cost"]), "cache_sync.E016", "has no field 'cost'"),
    ],
)  # fmt: skip
def test_each_mistake_has_its_error(cache_sync, error_id, says):
    found = errors_for(cache_sync)
    assert any(found_id == error_id and says in message for found_id, message in found), found


def test_a_cache_that_is_not_redis_is_refused():
    caches = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/15"},
        "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    found = errors_for({**GOOD, "CACHE": "local"}, CACHES=caches)
    assert [error_id for error_id, _ in found] == ["cache_sync.E003"]


def test_manage_py_check_fails_on_a_bad_rule():
    with override_settings(CACHE_SYNC=rules(keys=["product:{sku}"])), pytest.raises(SystemCheckError) as error:
        call_command("check")
    assert "cache_sync.E014" in str(error.value) and "CACHE_SYNC['RULES']['catalog.Product']" in str(error.value)


def test_a_rule_without_an_app_label_is_one_error():
    found = errors_for({**GOOD, "RULES": {"Product": {"keys": ["x"]}}})
    assert [error_id for error_id, _ in found] == ["cache_sync.E011"]


def test_a_project_without_cache_sync_settings_passes():
    with override_settings():
        del settings.CACHE_SYNC
        assert check_cache_sync() == []


def _drop_trigger(name: str, table: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'DROP TRIGGER "{name}" ON "{table}"')
        else:
            cursor.execute(f'DROP TRIGGER "{name}"')


@pytest.mark.django_db(transaction=True)
def test_a_missing_trigger_fails_the_database_check_until_installed():
    call_command("check", "--database", "default")
    name, table = sorted(installed_triggers("default").items())[0]
    _drop_trigger(name, table)
    with pytest.raises(SystemCheckError, match=r"cache_sync\.E020.*" + table):
        call_command("check", "--database", "default")
    call_command("cache_sync", "install-triggers", stdout=StringIO())
    call_command("check", "--database", "default")


@pytest.mark.django_db(transaction=True)
def test_a_changed_rule_makes_the_triggers_out_of_date():
    changed = {**settings.CACHE_SYNC, "RULES": {**settings.CACHE_SYNC["RULES"]}}
    changed["RULES"]["catalog.Product"] = {**changed["RULES"]["catalog.Product"], "fields": ["price"]}
    try:
        with override_settings(CACHE_SYNC=changed):
            with pytest.raises(SystemCheckError, match=r"cache_sync\.E020"):
                call_command("check", "--database", "default")
            diff = install_triggers("default")
            assert {t.table for t in diff.missing} == {"catalog_product"}
            assert {table for _name, table in diff.stale} == {"catalog_product"}
            call_command("check", "--database", "default")
    finally:
        install_triggers("default")
