"""Views of the accounts app: the cached public profile, and the uncached account pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import FormView, TemplateView, UpdateView

from cache_sync import cached_page
from silk_core.data_version import DATA_VERSION_HEADER, format_data_version

from .forms import ProfileForm, RegistrationForm, ResendActivationForm
from .limiting import RateLimitedFormMixin
from .mail import activation_path
from .models import User
from .receivers import deliver_welcome_mail
from .signals import user_registered
from .tokens import activation_token


@cached_page("profile:{username}", holes=True)
@require_safe
def public_profile(request, username):
    person = get_object_or_404(get_user_model(), username=username, is_active=True)
    response = render(request, "accounts/public_profile.html", {"person": person})
    response[DATA_VERSION_HEADER] = format_data_version([person])
    return response


class RegisterView(RateLimitedFormMixin, FormView):
    """Create an inactive account and announce it with `user_registered`, in one transaction."""

    http_method_names = ["get", "head", "post"]
    form_class = RegistrationForm
    template_name = "accounts/register.html"
    success_url = reverse_lazy("accounts:register-done")
    ratelimit_action = "register"
    ratelimit_field = "email"

    def form_valid(self, form: RegistrationForm) -> HttpResponse:
        try:
            with transaction.atomic():
                user = form.save()
                user_registered.send(sender=RegisterView, user=user, request=self.request)
        except IntegrityError:
            # A concurrent registration took the name or the address after the form checked it.
            form.add_error(None, "That username or email address was just taken. Please choose another.")
            return self.form_invalid(form)
        return redirect(self.success_url)


class RegisterDoneView(TemplateView):
    http_method_names = ["get", "head"]
    template_name = "accounts/register_done.html"


class ResendActivationView(RateLimitedFormMixin, FormView):
    """Mail a fresh activation link to every registration with this address still waiting for one.

    The answer is the same whether or not such an account exists: the page tells nobody who is registered.
    """

    form_class = ResendActivationForm
    template_name = "accounts/resend_activation.html"
    success_url = reverse_lazy("accounts:resend-activation-done")
    ratelimit_action = "resend-activation"
    ratelimit_field = "email"

    def form_valid(self, form: ResendActivationForm) -> HttpResponse:
        for user in form.accounts_to_activate():
            deliver_welcome_mail(user, self.request.build_absolute_uri(activation_path(user)))
        return redirect(self.success_url)


class ResendActivationDoneView(TemplateView):
    template_name = "accounts/resend_activation_done.html"


def user_from_uidb64(uidb64: str, queryset: QuerySet[User] | None = None) -> User | None:
    """The user an activation link names, or None for any malformed or unknown id."""
    queryset = User._default_manager.all() if queryset is None else queryset
    try:
        return queryset.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist, ValidationError):
        return None


@require_safe
@never_cache
def activate(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Open the account once; a bad, used or expired link says so (400), never a 500."""
    with transaction.atomic():
        user = user_from_uidb64(uidb64, User._default_manager.select_for_update())
        if user is None or user.is_active or not activation_token.check_token(user, token):
            return render(request, "accounts/activation_invalid.html", status=400)
        user.is_active = True
        user.save(update_fields=["is_active"])
    return render(request, "accounts/activation_done.html", {"person": user})


class ProfileView(LoginRequiredMixin, SuccessMessageMixin, UpdateView):
    """The signed-in user edits their own profile (never cached: it holds CSRF tokens)."""

    http_method_names = ["get", "head", "post"]
    form_class = ProfileForm
    template_name = "accounts/profile_edit.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = "Your profile is saved."

    def get_object(self, queryset=None) -> User:
        return User._default_manager.get(pk=self.request.user.pk)
