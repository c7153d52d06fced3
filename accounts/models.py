from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from silk_core.versioning import VersionedModel, VersionedQuerySet

from .validators import reject_confusable_username, reject_control_characters


def activation_window() -> timedelta:
    """How long an activation link lives (Django's password-reset timeout, which its token uses)."""
    return timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


class SilkRoadUserManager(UserManager.from_queryset(VersionedQuerySet)):
    def get_by_natural_key(self, username: str):
        """Log in whatever the case (`Alice` finds `alice`), as registration refuses case variants."""
        if len(username) > self.model._meta.get_field(self.model.USERNAME_FIELD).max_length:
            # No such name; and SQLite refuses a LIKE pattern that long (the login form sets no length check).
            raise self.model.DoesNotExist
        try:
            return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})
        except self.model.MultipleObjectsReturned:
            # The unique constraint is on Lower(); a database whose iexact folds otherwise may find two.
            return self.get(**{self.model.USERNAME_FIELD: username})

    def never_activated(self, joined_before):
        """Self-service registrations nobody ever opened: inactive, never logged in, not staff.

        A user deactivated after logging in, or made inactive by staff, is not one of them.
        """
        return self.filter(
            is_active=False, last_login__isnull=True, is_staff=False, is_superuser=False, date_joined__lt=joined_before
        )

    def expired_registrations(self):
        """Never activated, and the activation link of the registration has expired: the name is free."""
        return self.never_activated(joined_before=timezone.now() - activation_window())


class User(VersionedModel, AbstractUser):
    # AbstractUser's field, with the registration form's checks: the admin cannot create a look-alike either.
    username = models.CharField(
        _("username"),
        max_length=150,
        unique=True,
        help_text=_("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
        validators=[AbstractUser.username_validator, reject_control_characters, reject_confusable_username],
        error_messages={"unique": _("A user with that username already exists.")},
    )
    display_name = models.CharField(max_length=100, blank=True)
    bio = models.TextField(max_length=2000, blank=True)

    objects = SilkRoadUserManager()

    class Meta(AbstractUser.Meta):
        # The registration form checks these too; the database settles concurrent registrations.
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    def get_absolute_url(self) -> str:
        return reverse("accounts:public-profile", kwargs={"username": self.username})
