"""The per-visitor parts of the site's cached pages (cache_sync holes): the nav, and "Edit your profile"."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html

from cache_sync import Visitor, register_fragment, register_hole


def edit_own_profile(visitor: Visitor, person_pk: str) -> str:
    """The edit link of a profile page, for its owner alone."""
    if visitor.pk is None or visitor.pk != person_pk:
        return ""
    return format_html('<p><a class="edit-profile" href="{}">Edit your profile</a></p>', reverse("accounts:profile"))


def register_holes() -> None:
    register_fragment("nav", "accounts/nav.html")
    register_hole("edit_profile", edit_own_profile)
