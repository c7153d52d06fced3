"""Holes: the per-visitor parts of a page that every signed-in visitor shares (`@cached_page(..., holes=True)`).

    {% load cache_sync_holes %}
    {% cache_sync_hole "nav" %}                    a fragment: cached per visitor
    {% cache_sync_hole "edit_profile" person.pk %}  a hole: filled per request, from the visitor
    {% cache_sync_hole "csrf_token" %}             built in: a fresh token per request

markers.py   the registry of fragments and holes, the markers of the shared copy, their filling
visitors.py  a visitor's record (fragments, session hash) under VISITOR_KEY, stored under a lease
csrf.py      the CSRF token of a filled page: a new mask of the visitor's own secret per request
signed_in.py a signed-in visitor's hit answered before Django (signed-cookie and cache sessions)
"""
