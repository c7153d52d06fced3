"""The welcome mail, shared by the registration receiver and `manage.py resend_welcome`."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User
from .tokens import activation_token


def activation_path(user: User) -> str:
    """The site-relative activation link; callers make it absolute (request or base URL)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("accounts:activate", kwargs={"uidb64": uidb64, "token": activation_token.make_token(user)})


def build_welcome_message(user: User, activation_url: str) -> EmailMultiAlternatives:
    """Plain text with an HTML alternative, both from templates so they can be restyled."""
    context = {"user": user, "activation_url": activation_url}
    subject = "".join(render_to_string("accounts/email/welcome_subject.txt", context).splitlines()).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("accounts/email/welcome.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(render_to_string("accounts/email/welcome.html", context), "text/html")
    return message


def send_welcome_mail(user: User, activation_url: str) -> None:
    """Send now; mail errors propagate so that each caller decides how to report them."""
    build_welcome_message(user, activation_url).send()
