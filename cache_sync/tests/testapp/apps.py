from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "cache_sync.tests.testapp"
    label = "testapp"
