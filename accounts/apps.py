from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from cache_sync import register_table_triggers
        from website.versioning import version_triggers

        register_table_triggers(version_triggers)  # the version triggers survive schema changes in migrate
        from .receivers import send_welcome_mail_after_commit
        from .signals import user_registered
        from .views import RegisterView

        user_registered.connect(
            send_welcome_mail_after_commit, sender=RegisterView, dispatch_uid="accounts:send_welcome_mail"
        )
