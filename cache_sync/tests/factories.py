from cache_sync.tests.testapp.models import Book, Shelf, Tag


def shelf(slug: str = "poetry", name: str | None = None) -> Shelf:
    return Shelf.objects.create(slug=slug, name=name or slug.title())


def book(on: Shelf, slug: str = "odes", title: str | None = None) -> Book:
    return Book.objects.create(shelf=on, slug=slug, title=title or slug.title())


def tag(code: str = "verse", label: str | None = None) -> Tag:
    return Tag.objects.create(code=code, label=label or code.title())
