"""Forms of the accounts app: registration, login, activation resend, password reset, profile."""

from __future__ import annotations

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.utils import ErrorDict

from .models import User
from .validators import (
    reject_control_characters,
    reject_control_characters_but_line_breaks,
)


class CleanTextMixin:
    """Every text field refuses control characters (NUL included) with a form error.

    Fields with a Textarea keep tabs and line breaks. Django already refuses NUL in a CharField;
    this covers the other control characters, and the message names the problem.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                multiline = isinstance(field.widget, forms.Textarea)
                field.validators.append(
                    reject_control_characters_but_line_breaks if multiline else reject_control_characters
                )


class RefusableFormMixin:
    """A form that a rate limit can refuse: set `refusal` and it is invalid with that one error,
    without validating anything (no query, no password hash for a flood to pay for)."""

    refusal: str | None = None

    def full_clean(self) -> None:
        if self.refusal is None or not self.is_bound:
            return super().full_clean()
        self._errors = ErrorDict(renderer=self.renderer)
        self.cleaned_data = {}
        self.add_error(None, ValidationError(self.refusal, code="rate_limited"))

    @property
    def rate_limited(self) -> bool:
        return self.refusal is not None


class RegistrationForm(CleanTextMixin, RefusableFormMixin, auth_forms.UserCreationForm):
    """Django's `UserCreationForm` (password validators, case-insensitive username)
    for our user, with a required email that is unique whatever its case, and a username
    that cannot pass for another (one script, no look-alike of a Latin name: the model field's check).

    The account it saves is inactive: the activation link in the welcome mail opens it.
    A registration never activated whose link has expired does not hold its username or email:
    it is deleted when someone registers either (so registering another's address blocks no one).
    """

    email = forms.EmailField(max_length=User._meta.get_field("email").max_length, required=True)

    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_username(self) -> str:
        # Released before the uniqueness checks (the form's and the model constraints') look.
        User.objects.expired_registrations().filter(username__iexact=self.cleaned_data["username"]).delete()
        return super().clean_username()

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
        User.objects.expired_registrations().filter(email__iexact=email).delete()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with that email address already exists.", code="unique")
        return email

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.is_active = False
        if commit:
            user.save()
            self.save_m2m()
        return user


class LoginForm(CleanTextMixin, RefusableFormMixin, auth_forms.AuthenticationForm):
    """Django's login form; the username is found whatever its case (`SilkRoadUserManager`).

    The right password of an account not activated yet gets a message that says so (and the
    login page links the resend form) instead of the generic error; a wrong password never does.
    """

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "not_activated": "This account is not activated yet: follow the link in the welcome mail we sent you.",
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                self.explain_inactive_account()
            raise

    def explain_inactive_account(self) -> None:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            return
        if user.is_active or not user.check_password(password):
            return
        if user.last_login is None:
            raise ValidationError(self.error_messages["not_activated"], code="not_activated")
        raise ValidationError(self.error_messages["inactive"], code="inactive")

    @property
    def not_activated(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "not_activated")


class ResendActivationForm(CleanTextMixin, RefusableFormMixin, forms.Form):
    email = forms.EmailField(max_length=User._meta.get_field("email").max_length)

    def accounts_to_activate(self) -> list[User]:
        """Registrations with this address that were never activated (deactivated users excluded)."""
        email = User.objects.normalize_email(self.cleaned_data["email"])
        return list(User.objects.filter(email__iexact=email, is_active=False, last_login__isnull=True))


class PasswordResetForm(CleanTextMixin, RefusableFormMixin, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(CleanTextMixin, auth_forms.SetPasswordForm):
    pass


class PasswordChangeForm(CleanTextMixin, auth_forms.PasswordChangeForm):
    pass


class ProfileForm(CleanTextMixin, forms.ModelForm):
    """What the owner may change on their public profile."""

    class Meta:
        model = User
        fields = ("display_name", "bio")
        widgets = {"bio": forms.Textarea(attrs={"rows": 6})}

    def save(self, commit: bool = True) -> User:
        """Write only these fields, so that a concurrent change elsewhere (admin, staff API) survives."""
        user = super().save(commit=False)
        if commit:
            user.save(update_fields=self._meta.fields)
        return user
