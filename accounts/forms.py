"""Forms of the accounts app: self-service registration and profile editing."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import User


class RegistrationForm(UserCreationForm):
    """Django's `UserCreationForm` (password validators, case-insensitive username)
    for our user, with a required email that is unique whatever its case.

    The account it saves is inactive: the activation link in the welcome mail opens it.
    """

    email = forms.EmailField(max_length=User._meta.get_field("email").max_length, required=True)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"])
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


class ProfileForm(forms.ModelForm):
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
