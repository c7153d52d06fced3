from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from cache_sync import cached_page

from .models import Book, Reader, Shelf, Tag


@cached_page("book:{slug}")
def book(request, slug):
    book = get_object_or_404(Book, slug=slug)
    tags = ",".join(book.tags.order_by("code").values_list("label", flat=True))
    readers = Reader.objects.filter(favourites=book).count()
    return HttpResponse(f"{book.title} on {book.shelf_id} tags={tags} readers={readers}")


@cached_page("shelf:{slug}", query_params=("page",))
def shelf(request, slug):
    shelf = get_object_or_404(Shelf, slug=slug)
    titles = ",".join(shelf.books.order_by("slug").values_list("title", flat=True))
    return HttpResponse(f"{shelf.name}: {titles} page={request.GET.get('page', '1')}")


@cached_page("tag:{code}")
def tag(request, code):
    tag = get_object_or_404(Tag, code=code)
    titles = ",".join(tag.books.order_by("slug").values_list("title", flat=True))
    host = request.build_absolute_uri("/")  # a rebuild's request must pass ALLOWED_HOSTS
    return HttpResponse(f"{tag.label}: {titles} at {host}")
