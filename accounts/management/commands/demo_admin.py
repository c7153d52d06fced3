"""`manage.py demo_admin`: the demo superuser of `make run`, created when the database has none.

The password comes from the environment (DEMO_ADMIN_PASSWORD), never the command line, so that it
does not show in `ps`. Exit status: 0 when `--username` logs in with that password (created now or
before), 3 when the database already has a superuser or the password was changed: nothing is touched.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User

LEFT_ALONE = 3


class Command(BaseCommand):
    help = "Create the demo superuser (password from DEMO_ADMIN_PASSWORD) when the database has no superuser."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if not password:
            raise CommandError("Set DEMO_ADMIN_PASSWORD to the demo superuser's password.")
        user = User._default_manager.filter(username__iexact=username).first()
        if user is None and not User._default_manager.filter(is_superuser=True).exists():
            User._default_manager.create_superuser(username, email="", password=password, display_name="Demo admin")
            self.stdout.write(f"Created the demo superuser {username!r}.")
            return
        if user is not None and user.is_superuser and user.is_active and user.check_password(password):
            return
        self.stderr.write(f"Left the superusers alone: {username!r} does not log in with the demo password.")
        raise SystemExit(LEFT_ALONE)
