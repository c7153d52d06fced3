"""URL converters of accounts."""


class UsernameConverter:
    """What Django's username validator allows (letters, digits, @ . + - _): no NUL or other
    control character ever reaches a query (PostgreSQL refuses NUL in text: a 500, not a 404)."""

    regex = r"[\w.@+-]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
