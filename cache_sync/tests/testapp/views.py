from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_POST

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


@cached_page("book:{slug}")
async def book_async(request, slug):
    book = await Book.objects.select_related("shelf").aget(slug=slug)
    return HttpResponse(f"{book.title} (async)")


@cached_page("form:{name}")
def form_with_csrf_token(request, name):
    return HttpResponse(f"<form><input name=csrfmiddlewaretoken value={get_token(request)}></form>")


@cached_page("plain:{name}")
def plain(request, name):
    return HttpResponse(f"plain {name}")


@cached_page("lang:{name}")
def by_language(request, name):
    response = HttpResponse(f"{name} in {request.headers.get('Accept-Language', '?')}")
    patch_vary_headers(response, ["Accept-Language"])
    return response


@cached_page("lang:{name}", vary_on_headers=("Accept-Language",))
def by_language_keyed(request, name):
    return by_language.cached_page.view(request, name)


@cached_page("private:{name}")
def private_page(request, name):
    response = HttpResponse(f"only for {name}")
    patch_cache_control(response, private=True)
    return response


@cached_page("twin:{slug}")
def twin_detail(request, slug):
    return HttpResponse(f"detail of {slug}")


@cached_page("twin:{slug}")
def twin_reviews(request, slug):
    return HttpResponse(f"reviews of {slug}")


@cached_page("greeting:{name}", query_params=("v",))
def greeting(request, name):
    return HttpResponse(f"hello {request.user.get_username() or 'stranger'} from {name} v={request.GET.get('v')}")


@require_POST
def rename_book(request, slug):
    """A writer (for read-your-writes): renames the book, answers with what it wrote."""
    Book.objects.filter(slug=slug).update(title=request.POST["title"])
    return HttpResponse(f"renamed {slug}")


def book_uncached(request, slug):
    return HttpResponse(get_object_or_404(Book, slug=slug).title)


@cached_page("basket:{name}")
def basket(request, name):
    """Shows what this visitor keeps in their session, signed in or not: never a stranger's page."""
    return HttpResponse(f"{name} basket: {','.join(request.session.get('basket', [])) or 'empty'}")


@require_POST
def add_to_basket(request, name):
    request.session["basket"] = [*request.session.get("basket", []), request.POST["item"]]
    return HttpResponse(f"added to {name}")


@cached_page("book:{slug}", holes=True)
def holed_book(request, slug):
    """One copy for every signed-in visitor: their nav, the owner's line and a CSRF token are holes."""
    return render(request, "testapp/holed_book.html", {"book": get_object_or_404(Book, slug=slug)})


@cached_page("basket:{name}", holes=True)
def holed_basket(request, name):
    """A page with holes that shows the session's basket: built for an empty session, shared; else the visitor's."""
    basket = ",".join(request.session.get("basket", [])) or "empty"
    return render(request, "testapp/holed_book.html", {"book": {"title": f"{name} basket: {basket}", "pk": 0}})
