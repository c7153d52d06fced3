"""A wrong CACHE_SYNC fails `manage.py check` with one error that names the setting."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings

from cache_sync.capture.triggers import install_triggers, installed_triggers
from cache_sync.checks import check_cache_sync, check_signed_in_fast_path

VISITOR_RULE = {"auth.User": {"keys": ["visitor:{id}"]}}  # the test app has a page with holes
GOOD_RULES = {
    "testapp.Book": {"action": "invalidate", "keys": ["book:{slug}", "shelf:{shelf.slug}"]},
    "testapp.Shelf": {"keys": ["shelf:{slug}"], "related": {"books": ["book:{slug}"]}},
    "testapp.Tag": {"action": "rebuild", "keys": ["tag:{code}"]},
    **VISITOR_RULE,
}
GOOD = {"CACHE": "default", "TIMEOUT": 60, "BASE_URL": "https://shelves.example", "RULES": GOOD_RULES}


def rules(**rule) -> dict:
    return {**GOOD, "RULES": {"testapp.Book": rule, **VISITOR_RULE}}


def errors_for(cache_sync: object, **extra) -> list[tuple[str | None, str]]:
    with override_settings(CACHE_SYNC=cache_sync, **extra):
        return [(error.id, error.msg) for error in check_cache_sync()]


def test_good_settings_pass():
    assert errors_for(GOOD) == []


def test_a_relay_wait_of_zero_turns_the_wait_off_and_passes():
    assert errors_for({**GOOD, "RELAY_WAIT": 0}) == []


def test_a_project_without_cache_sync_settings_passes():
    with override_settings():
        del settings.CACHE_SYNC
        assert check_cache_sync() == []


@pytest.mark.parametrize(
    ("cache_sync", "error_id", "says"),
    [
        ("not a dict", "cache_sync.E001", "CACHE_SYNC must be a dict"),
        ({**GOOD, "TIMOUT": 5}, "cache_sync.E001", "unknown option 'TIMOUT'"),
        ({**GOOD, "CACHE": "nowhere"}, "cache_sync.E002", "'nowhere', which is not in CACHES"),
        ({**GOOD, "TIMEOUT": -1}, "cache_sync.E004", "CACHE_SYNC['TIMEOUT']"),
        ({**GOOD, "RELAY_WAIT": -0.5}, "cache_sync.E004", "CACHE_SYNC['RELAY_WAIT']"),
        ({**GOOD, "RELAY_WAIT": "1"}, "cache_sync.E004", "CACHE_SYNC['RELAY_WAIT']"),
        ({**GOOD, "STRATEGY": "naive"}, "cache_sync.E001", "unknown option 'STRATEGY'"),
        ({**GOOD, "BASE_URL": "shelves.example"}, "cache_sync.E006", "must be an http(s) URL"),
        ({**GOOD, "BASE_URL": "https://elsewhere.example"}, "cache_sync.E050", "not in ALLOWED_HOSTS"),
        ({**GOOD, "RULES": ["testapp.Book"]}, "cache_sync.E010", "CACHE_SYNC['RULES'] must be a dict"),
        (rules(keys=["x"], when="always"), "cache_sync.E053", "unknown option 'when'"),
        ({**GOOD, "RULES": {"testapp.Nope": {"keys": ["x"]}, **VISITOR_RULE}}, "cache_sync.E011",
         "unknown model 'testapp.Nope'"),
        ({**GOOD, "RULES": {"Book": {"keys": ["x"]}, **VISITOR_RULE}}, "cache_sync.E055", "'app_label.ModelName'"),
        (rules(action="refresh", keys=["x"]), "cache_sync.E012", "unknown action 'refresh'"),
        (rules(keys=[]), "cache_sync.E013", "non-empty list"),
        (rules(keys=["book:{slug"]), "cache_sync.E056", "malformed key template"),
        (rules(keys=["book:{slug!r}"]), "cache_sync.E056", "malformed key template"),
        (rules(keys=["book:{isbn}"]), "cache_sync.E014", "has no field 'isbn'"),
        (rules(keys=["s:{shelf.title}"]), "cache_sync.E014", "testapp.Shelf has no field 'title'"),
        (rules(keys=["s:{title.slug}"]), "cache_sync.E057", "not a forward relation"),
        (rules(keys=["b:{slug}"], related={"reviews": ["r:{pk}"]}), "cache_sync.E015", "no relation 'reviews'"),
        (rules(keys=["b:{slug}"], related=["reviews"]), "cache_sync.E054", "must map relation names"),
        ({**GOOD, "RULES": {"testapp.Book": ["book:{slug}"], **VISITOR_RULE}}, "cache_sync.E052", "must be a dict"),
        (rules(keys=["b:{slug}"], fields="title"), "cache_sync.E058", "must be a list of field names"),
        (rules(keys=["b:{slug}"], fields=["cost"]), "cache_sync.E016", "has no field 'cost'"),
        ({**GOOD, "METRICS_PATH": "/"}, "cache_sync.E017", "CACHE_SYNC['METRICS_PATH']"),
        ({**GOOD, "METRICS_NETWORKS": ["10.0.0.0/33"]}, "cache_sync.E018", "list of IP networks"),
        ({**GOOD, "METRICS_NETWORKS": "127.0.0.1"}, "cache_sync.E018", "list of IP networks"),
        ({**GOOD, "AUDIT_CHECK": "yes"}, "cache_sync.E023", "True, False or None"),
        ({**GOOD, "AUDIT_IGNORE": ["Book"]}, "cache_sync.E024", "'app_label.Model'"),
        ({**GOOD, "FRESHNESS_WITHIN_MS": "1s"}, "cache_sync.E025", "milliseconds"),
        ({**GOOD, "VISITOR_KEY": "visitor"}, "cache_sync.E059", "one placeholder"),
        ({**GOOD, "VISITOR_KEY": "v:{id}:{username}"}, "cache_sync.E059", "one placeholder"),
        ({**GOOD, "RULES": {**GOOD_RULES, "auth.User": {"keys": ["u:{username}"]}}}, "cache_sync.E060",
         "no rule of auth.User lists that key"),
        ({**GOOD, "VISITOR_KEY": "reader:{id}"}, "cache_sync.E060", "'reader:{id}'"),
    ],
)  # fmt: skip
def test_each_mistake_is_one_error_that_names_it(cache_sync, error_id, says):
    found = errors_for(cache_sync)
    assert len(found) == 1, found
    assert found[0][0] == error_id and says in found[0][1], found


SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"


@pytest.mark.parametrize(
    "setting, says",
    [
        ({"SESSION_ENGINE": "django.contrib.sessions.backends.db"}, "SESSION_ENGINE is 'django.contrib.sessions"),
        ({"SESSION_ENGINE": SIGNED_COOKIES, "CSRF_USE_SESSIONS": True}, "CSRF_USE_SESSIONS is True"),
        ({"SESSION_ENGINE": SIGNED_COOKIES, "SESSION_SAVE_EVERY_REQUEST": True}, "SESSION_SAVE_EVERY_REQUEST"),
        ({"SESSION_ENGINE": SIGNED_COOKIES, "AUTHENTICATION_BACKENDS": ["a.Backend"]}, "does not include"),
    ],
)
def test_settings_that_leave_signed_in_hits_to_django_are_one_warning_naming_them(setting, says):
    with override_settings(**setting):
        found = [(message.id, message.msg) for message in check_signed_in_fast_path()]
    assert len(found) == 1 and found[0][0] == "cache_sync.W042" and says in found[0][1], found


def test_the_fast_paths_settings_raise_no_warning():
    with override_settings(SESSION_ENGINE=SIGNED_COOKIES):
        assert check_signed_in_fast_path() == []


def test_an_unknown_load_test_baseline_is_an_error_naming_it():
    found = errors_for(GOOD, CACHE_SYNC_LOAD_TEST_BASELINE="fast")
    assert found == [("cache_sync.E005", "CACHE_SYNC_LOAD_TEST_BASELINE is 'fast'.")], found


def test_a_rebuild_rule_needs_a_host_for_its_requests():
    found = errors_for({**GOOD, "BASE_URL": ""}, ALLOWED_HOSTS=["*"])
    assert [error_id for error_id, _ in found] == ["cache_sync.E051"]


def test_a_cache_that_is_not_redis_is_refused():
    caches = {**settings.CACHES, "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    found = errors_for({**GOOD, "CACHE": "local"}, CACHES=caches)
    assert [error_id for error_id, _ in found] == ["cache_sync.E003"]


def test_manage_py_check_fails_on_a_bad_rule():
    with override_settings(CACHE_SYNC=rules(keys=["book:{isbn}"])), pytest.raises(SystemCheckError) as error:
        call_command("check")
    assert "cache_sync.E014" in str(error.value) and "CACHE_SYNC['RULES']['testapp.Book']" in str(error.value)


def _drop_trigger(name: str, table: str) -> None:
    on_table = f' ON "{table}"' if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER "{name}"{on_table}')


@pytest.mark.django_db(transaction=True)
def test_a_missing_trigger_fails_the_database_check_until_installed():
    call_command("check", "--database", "default")
    name, found = sorted(installed_triggers("default").items())[0]
    _drop_trigger(name, found.table)
    with pytest.raises(SystemCheckError, match=r"cache_sync\.E020.*, 0 outdated, 1 missing, 0 orphaned; tables "):
        call_command("check", "--database", "default")
    call_command("cache_sync", "triggers", "install", stdout=StringIO())
    call_command("check", "--database", "default")


@pytest.mark.django_db(transaction=True)
def test_a_changed_rule_makes_the_triggers_out_of_date():
    changed = {**settings.CACHE_SYNC, "RULES": {**settings.CACHE_SYNC["RULES"]}}
    changed["RULES"]["testapp.Book"] = {**changed["RULES"]["testapp.Book"], "fields": ["times_opened"]}
    try:
        with override_settings(CACHE_SYNC=changed):
            with pytest.raises(SystemCheckError, match=r"cache_sync\.E020.* 1 outdated, 0 missing, 0 orphaned"):
                call_command("check", "--database", "default")
            before = installed_triggers("default")
            diff = install_triggers("default")
            assert [(t.table, t.event) for t in diff.outdated] == [("testapp_book", "update")]
            assert (diff.missing, diff.orphaned) == ((), ())
            # Replaced under its name: the name stays, the hash beside it changes.
            after = installed_triggers("default")
            assert sorted(after) == sorted(before)
            assert after[diff.outdated[0].name].hash == diff.outdated[0].hash != before[diff.outdated[0].name].hash
            call_command("check", "--database", "default")
    finally:
        install_triggers("default")
