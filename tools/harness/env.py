"""What a child process (manage.py, gunicorn, a benchmark's site) is told about where its data is."""

from __future__ import annotations


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the database of `settings_dict` (e.g. a test database), for a child process."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
