"""Activation links: signed, expiring, and good for one use."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """A password-reset style token whose hash includes `is_active` and the row `version`.

    Activating the account changes both, so a link works once. `is_active` alone
    would not do: a user deactivated again later (without ever logging in) would
    make the old link valid again; `version` only grows (every save bumps it in
    the database), so no later state can match the one the link was made for.
    The inherited hash also covers the password, the last login and the email;
    the token expires after `settings.PASSWORD_RESET_TIMEOUT` (3 days by default),
    and its own salt keeps password-reset tokens from standing in for it.
    """

    key_salt = "accounts.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}{user.version}"


activation_token = ActivationTokenGenerator()
