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
    # (literal text, path of the placeholder after it or None), parsed once: rendering runs per changed row.
    parts: tuple[tuple[str, tuple[str, ...] | None], ...] = ()

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
        paths: list[tuple[str, ...]] = []
        pieces: list[tuple[str, tuple[str, ...] | None]] = []
        for literal, field, spec, conversion in parts:
            if field is None:
                pieces.append((literal, None))
                continue
            if not field or spec or conversion or "[" in field:
                raise TemplateSyntaxError(f"{text!r}: placeholders are plain field paths like {{slug}}")
            paths.append(tuple(field.split(".")))
            pieces.append((literal, paths[-1]))
        return cls(text, tuple(paths), tuple(pieces))

    def render_values(self, values: dict[tuple[str, ...], object]) -> str:
        """The key from the value at the end of each path (every path must have one)."""
        return "".join(literal if path is None else literal + str(values[path]) for literal, path in self.parts)

    def match(self, key: str) -> dict[str, str] | None:
        """The placeholder values that render `key`, for templates of plain fields."""
        pattern = ""
        for literal, field, _spec, _conversion in _FORMATTER.parse(self.text):
            pattern += re.escape(literal)
            if field is not None:
                pattern += f"(?P<{field.replace('.', '__')}>[^:{{}}]+)"
        found = re.fullmatch(pattern, key)
        return found.groupdict() if found else None
