from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from .receivers import send_welcome_mail_after_commit
        from .signals import user_registered
        from .views import RegisterView

        user_registered.connect(
            send_welcome_mail_after_commit, sender=RegisterView, dispatch_uid="accounts:send_welcome_mail"
        )
