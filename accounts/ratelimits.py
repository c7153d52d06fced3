"""Rate limits of the account forms, per client IP and per account, counted in Redis.

Counting is django-ratelimit's (fixed windows in Django's default cache, i.e. the site's Redis).
Each POST counts once against the client's IP and once against the account it names (username
or email, compared as NFKC, case-folded), so neither many accounts from one IP nor one account
from many IPs get past the limit. A Redis that does not answer lets the request through (logged):
the site keeps working without Redis, as its pages do.
"""

from __future__ import annotations

import logging
import unicodedata

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# action: (rate per IP, rate per account). Override an action with settings.ACCOUNTS_RATE_LIMITS.
DEFAULT_RATES: dict[str, tuple[str, str]] = {
    "login": ("30/10m", "10/10m"),
    "register": ("10/h", "3/h"),
    "resend-activation": ("10/h", "3/h"),
    "password-reset": ("10/h", "3/h"),
}

REFUSAL = "Too many attempts. Please wait a few minutes, then try again."


def rates_for(action: str) -> tuple[str, str]:
    return getattr(settings, "ACCOUNTS_RATE_LIMITS", {}).get(action, DEFAULT_RATES[action])


def account_key(value: str) -> str:
    """`Marco`, `marco` and `marco` in full-width letters name one account, so they share one count."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def limit_exceeded(request: HttpRequest, action: str, account: str) -> bool:
    """Count this request for `action` and tell whether it went over a limit."""
    ip_rate, account_rate = rates_for(action)
    checks = [("ip", ip_rate, "ip")]
    if account_key(account):
        checks.append(("account", account_rate, lambda group, request: account_key(account)))
    try:
        usages = [
            get_usage(request, group=f"accounts.{action}.{scope}", key=key, rate=rate, increment=True)
            for scope, rate, key in checks
        ]
    except (ConnectionInterrupted, RedisError):
        logger.warning("Rate limit of %s not checked: Redis did not answer", action, exc_info=True)
        return False
    return any(usage is not None and usage["should_limit"] for usage in usages)
