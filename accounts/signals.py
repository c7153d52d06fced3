"""Signals that the accounts app sends."""

from django.dispatch import Signal

# Sent once per self-service registration, inside the transaction that created the account
# (receivers that reach outside the database should wait for `transaction.on_commit`).
# Not sent for users created in the admin, by `createsuperuser` or by any other `User.save()`.
#   sender:  the class that registered the user (`accounts.views.RegisterView`)
#   user:    the new, still inactive `accounts.User`
#   request: the `HttpRequest` of the registration (to build absolute URLs)
user_registered = Signal()
