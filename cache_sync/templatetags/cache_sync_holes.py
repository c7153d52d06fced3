"""`{% load cache_sync_holes %}{% cache_sync_hole "name" argument ... %}`: a per-visitor part (cache_sync/holes/)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..holes.markers import MARKING, marker, render_in_place

register = template.Library()


@register.simple_tag(takes_context=True)
def cache_sync_hole(context: template.Context, name: str, *arguments: Any) -> SafeString:
    """A marker in the copy signed-in visitors share, else the part rendered for this visitor."""
    # A RequestContext knows its request without the `request` context processor; a fragment's has it as a variable.
    request = getattr(context, "request", None) or context.get("request")
    if request is not None and getattr(request, MARKING, False):
        return mark_safe(marker(name, arguments))  # quoted: no markup of the arguments survives
    user = context.get("user", getattr(request, "user", None))
    return mark_safe(render_in_place(name, user, request, arguments))  # rendered HTML
