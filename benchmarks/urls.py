"""The site's URLs, plus a bare view and the catalog's views without the cache, for `make bench`."""

from django.http import HttpResponse
from django.urls import include, path

from catalog import views


def bare(request):
    """A request that does nothing, through the full middleware stack: the ceiling."""
    return HttpResponse(b"ok")


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/uncached/", views.home.__wrapped__),
    path("bench/uncached/categories/<slug:slug>/", views.category_detail.__wrapped__),
    path("bench/uncached/products/<slug:slug>/", views.product_detail.__wrapped__),
    path("", include("website.urls")),
]
