"""`manage.py resend_welcome <username>`: a new activation link for a lost or expired one."""

from __future__ import annotations

from urllib.parse import urljoin

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.mail import activation_path, send_welcome_mail
from accounts.models import User


class Command(BaseCommand):
    help = "Send the welcome mail, with a fresh activation link, to a user who has not activated yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--base-url",
            default=getattr(settings, "SITE_URL", "http://127.0.0.1:8000"),
            help="Scheme and host of the site for the link (default: settings.SITE_URL or %(default)s).",
        )

    def handle(self, *args, username: str, base_url: str, **options) -> None:
        try:
            user = User._default_manager.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"There is no user named {username!r}.") from None
        if user.is_active:
            raise CommandError(f"{username!r} is already active: there is nothing to activate.")
        if user.last_login is not None:
            # Never-activated users cannot have logged in; this one was deactivated on purpose.
            raise CommandError(f"{username!r} was deactivated after logging in; reactivate it in the admin instead.")
        if not user.email:
            raise CommandError(f"{username!r} has no email address.")
        try:
            send_welcome_mail(user, urljoin(base_url, activation_path(user)))
        except Exception as error:
            raise CommandError(f"The mail to {user.email} could not be sent: {error}") from error
        self.stdout.write(self.style.SUCCESS(f"Sent the welcome mail to {user.email}."))
