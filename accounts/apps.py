from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.urls import register_converter

        from cache_sync import register_table_triggers
        from silk_core.versioning import version_triggers

        from .converters import UsernameConverter
        from .holes import register_holes
        from .receivers import send_welcome_mail_after_commit
        from .signals import user_registered
        from .views import RegisterView

        register_holes()
        register_table_triggers(version_triggers)  # the version triggers survive schema changes in migrate
        # Before any URLconf is loaded: accounts' and the staff API's name <username:...>.
        register_converter(UsernameConverter, "username")
        user_registered.connect(
            send_welcome_mail_after_commit, sender=RegisterView, dispatch_uid="accounts:send_welcome_mail"
        )
