"""Key templates such as `category:{category.slug}`: parsing and rendering.

A template names one page family. Its placeholders are field paths on the
instance; the first step of each path is a field of the model itself, later
steps follow forward relations.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_FORMATTER = string.Formatter()


class TemplateSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class KeyTemplate:
    text: str
    paths: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> KeyTemplate:
        if not isinstance(text, str) or not text:
            raise TemplateSyntaxError(f"key template must be a non-empty string, not {text!r}")
        if "{{" in text or "}}" in text:
            raise TemplateSyntaxError(f"{text!r}: escaped braces are not allowed in keys")
        try:
            parts = list(_FORMATTER.parse(text))
        except ValueError as error:
            raise TemplateSyntaxError(f"{text!r}: {error}") from None
        paths = []
        for _literal, field, spec, conversion in parts:
            if field is None:
                continue
            if not field or spec or conversion or "[" in field:
                raise TemplateSyntaxError(f"{text!r}: placeholders are plain field paths like {{slug}}")
            paths.append(tuple(field.split(".")))
        return cls(text, tuple(paths))

    def render(self, obj: object) -> str | None:
        """The key for `obj`, or None when a path ends in None (no such page)."""
        values = {}
        for path in self.paths:
            value = obj
            for attribute in path:
                value = getattr(value, attribute, None)
                if value is None:
                    return None
            values[".".join(path)] = value
        return _render(self.text, values)

    def render_values(self, values: dict[tuple[str, ...], object]) -> str:
        """The key from the value at the end of each path (every path must have one)."""
        return _render(self.text, {".".join(path): value for path, value in values.items()})

    def match(self, key: str) -> dict[str, str] | None:
        """The placeholder values that render `key`, for templates of plain fields."""
        pattern = ""
        for literal, field, _spec, _conversion in _FORMATTER.parse(self.text):
            pattern += re.escape(literal)
            if field is not None:
                pattern += f"(?P<{field.replace('.', '__')}>[^:{{}}]+)"
        found = re.fullmatch(pattern, key)
        return found.groupdict() if found else None


def _render(text: str, values: dict[str, object]) -> str:
    out = []
    for literal, field, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if field is not None:
            out.append(str(values[field]))
    return "".join(out)
