"""Django's database sessions, refusing a session cookie that no session key could be.

Keys are lowercase ASCII letters and digits. A cookie holding a NUL byte would otherwise reach the
session query, and PostgreSQL answers NUL in text with an error (a 500), not with "no such session".
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(super()._validate_session_key(key)) and key.isascii() and key.isalnum()
