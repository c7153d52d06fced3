"""The test app's URLs, cache_sync's own (/metrics), and pages the audit and the freshness monitor look at.

Their views are removed from the registry of cached pages: they are reached by URL
only, never the page that rebuild() or verify() builds for `book:{slug}`.
"""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import include, path

from cache_sync import cached_page
from cache_sync.pages.decorator import _pages
from cache_sync.tests.testapp.models import Book
from cache_sync.tests.urls import urlpatterns as testapp_urlpatterns


@cached_page("book:{slug}")
def book_on_shelf(request, slug):
    """Shows its shelf's name: a change of the shelf must reach `book:{slug}` (Shelf's `related`)."""
    book = get_object_or_404(Book.objects.select_related("shelf"), slug=slug)
    return HttpResponse(f"{book.title} on {book.shelf.name}")


@cached_page("book:{slug}")
def book_versioned(request, slug):
    """Says which version of the book it shows, counted by `times_opened` (outside the rule's `fields`)."""
    book = get_object_or_404(Book, slug=slug)
    response = HttpResponse(f"{book.title}, opened {book.times_opened} times")
    response["X-Data-Version"] = f"testapp.book:{book.pk}={book.times_opened}"
    return response


for view in (book_on_shelf, book_versioned):
    _pages.remove(view.cached_page)

urlpatterns = [
    *testapp_urlpatterns,
    path("", include("cache_sync.urls")),
    path("on-shelf/<slug:slug>/", book_on_shelf),
    path("versioned/<slug:slug>/", book_versioned),
]
