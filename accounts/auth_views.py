"""Django's auth views, with our forms, rate limits and templates, and a logout that GET confirms."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .forms import LoginForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from .limiting import RateLimitedFormMixin


class LoginView(RateLimitedFormMixin, auth_views.LoginView):
    form_class = LoginForm
    ratelimit_action = "login"
    ratelimit_field = "username"


class LogoutView(auth_views.LogoutView):
    """GET shows a page with the POST button, so every page can link here without a CSRF form of its
    own (a page holding a CSRF token is never cached); POST logs out, as Django's view does."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return render(request, "registration/logout_confirm.html")


class PasswordResetView(RateLimitedFormMixin, auth_views.PasswordResetView):
    form_class = PasswordResetForm
    ratelimit_action = "password-reset"
    ratelimit_field = "email"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
