"""Receivers of the accounts app, connected in `AccountsConfig.ready()`."""

from __future__ import annotations

import logging

from django.db import transaction
from django.http import HttpRequest

from .mail import activation_path, send_welcome_mail
from .models import User

logger = logging.getLogger(__name__)


def send_welcome_mail_after_commit(sender: type, user: User, request: HttpRequest, **kwargs) -> None:
    """Queue the welcome mail for after commit: a rolled-back registration mails nobody.

    The link is built now, while the request (and so the host the visitor used) is at hand.
    """
    activation_url = request.build_absolute_uri(activation_path(user))
    transaction.on_commit(lambda: deliver_welcome_mail(user, activation_url))


def deliver_welcome_mail(user: User, activation_url: str) -> None:
    """The account exists whatever the mail server says: log a failure, never raise it."""
    try:
        send_welcome_mail(user, activation_url)
    except Exception:
        logger.exception("The welcome mail to user %s (%s) could not be sent", user.pk, user.username)
