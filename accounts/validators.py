"""Validators of what people type into the accounts forms."""

from __future__ import annotations

import unicodedata

from confusable_homoglyphs import categories, confusables
from django.core.exceptions import ValidationError

LINE_BREAKS_AND_TABS = frozenset("\t\n\r")


def reject_control_characters(value: str) -> None:
    """No NUL or other control character (Unicode category Cc) in a one-line field.

    PostgreSQL refuses NUL in text (a query with one raises), and the others have no place in a name.
    """
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValidationError("Remove the control characters from this field.", code="control_characters")


def reject_control_characters_but_line_breaks(value: str) -> None:
    """As `reject_control_characters`, for multi-line text: tabs and line breaks stay allowed."""
    if any(unicodedata.category(char) == "Cc" and char not in LINE_BREAKS_AND_TABS for char in value):
        raise ValidationError("Remove the control characters from this field.", code="control_characters")


def reject_confusable_username(username: str) -> None:
    """A username must not pass for another one (expects the NFKC form that `UsernameField` gives).

    Refused: names that mix scripts ("alice" with a Cyrillic U+0430 for its a, "bob" with a Greek
    omicron), and names in one other script whose every letter has a Latin look-alike ("coco"
    spelt in Cyrillic letters).
    Digits and punctuation belong to no script ("COMMON") and never count.
    """
    if confusables.is_mixed_script(username):
        raise ValidationError(
            "Use letters of one script only: this name mixes alphabets and could pass for another.",
            code="mixed_script",
        )
    letters = [char for char in username if categories.alias(char) != "COMMON"]
    if not letters or categories.alias(letters[0]) == "LATIN":
        return
    if all(confusables.is_confusable(char, preferred_aliases=["latin"]) for char in letters):
        raise ValidationError(
            "This name could be mistaken for a name in Latin letters; please choose another.",
            code="confusable",
        )
