"""The view side of the rate limits: a form view whose POSTs count, and are refused over a limit."""

from __future__ import annotations

from django.http import HttpResponse

from .ratelimits import REFUSAL, limit_exceeded


class RateLimitedFormMixin:
    """Counts each POST against `ratelimit_action` (per IP, and per the account that the POST
    field `ratelimit_field` names). Over a limit the form is refused with an error, status 429."""

    ratelimit_action: str = ""
    ratelimit_field: str = ""

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.request.method == "POST":
            account = self.request.POST.get(self.ratelimit_field, "")
            if limit_exceeded(self.request, self.ratelimit_action, account):
                form.refusal = REFUSAL
        return form

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.rate_limited:
            response.status_code = 429
        return response
