"""`manage.py purge_inactive_accounts [--older-than-days N] [--dry-run]`: delete registrations never activated."""

from __future__ import annotations

import math
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.models import User, activation_window


class Command(BaseCommand):
    help = (
        "Delete accounts that registered more than N days ago and were never activated (inactive, never logged "
        "in, not staff). Users deactivated after logging in are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default_days = math.ceil(activation_window().total_seconds() / 86400)
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=default_days,
            help="Age in days of the registrations to delete (default: the activation link's lifetime, %(default)s).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count them, delete nothing.")

    def handle(self, *args, older_than_days: int, dry_run: bool, **options) -> None:
        if older_than_days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        accounts = User.objects.never_activated(joined_before=timezone.now() - timedelta(days=older_than_days))
        if dry_run:
            self.stdout.write(f"{accounts.count()} account(s) never activated would be deleted.")
            return
        deleted = accounts.delete()[1].get(User._meta.label, 0)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} account(s) never activated."))
