from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "cache_sync.tests.testapp"
    label = "testapp"

    def ready(self) -> None:
        from cache_sync import register_fragment, register_hole

        register_fragment("nav", "testapp/nav.html")
        # The reader whose pk is the book's own sees a line of their own (the site's "Edit your profile").
        register_hole("owner", lambda visitor, pk: "<p>Your own book</p>" if visitor.pk == pk else "")
