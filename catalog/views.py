import re

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_safe

from cache_sync import cached_page
from silk_core.data_version import DATA_VERSION_HEADER, format_data_version

from .models import Category, Product

PRODUCTS_PER_PAGE = 20
PAGE_NUMBER = re.compile(r"[1-9][0-9]*")  # ASCII digits only (str.isdigit() takes "²"), no leading zero
NEWEST_ON_HOME = 12


def _with_versions(response, objects):
    response[DATA_VERSION_HEADER] = format_data_version(objects)
    return response


# cached_page outermost: cache_sync finds a page's URL by its view; require_safe inside it turns
# OPTIONS, TRACE, POST... into a 405 before the view reads anything (the cache passes them through).
@cached_page("home", holes=True)
@require_safe
def home(request):
    categories = list(Category.objects.all())
    newest = list(Product.objects.select_related("category").order_by("-created_at", "-id")[:NEWEST_ON_HOME])
    response = render(request, "catalog/home.html", {"categories": categories, "newest": newest})
    return _with_versions(response, [*categories, *newest])


@cached_page("category:{slug}", query_params=("page",), holes=True)
@require_safe
def category_detail(request, slug):
    category = get_object_or_404(Category, slug=slug)
    paginator = Paginator(category.products.order_by("name", "id"), PRODUCTS_PER_PAGE)
    # One URL per page: anything but a page number that exists is a redirect or a 404, never a
    # page of its own (which the cache would keep as one more copy).
    number = request.GET.get("page")
    if number is not None and (number == "1" or not PAGE_NUMBER.fullmatch(number)):
        return redirect(category)
    # Length first: int() refuses more than 4300 digits, and no category has a billion pages.
    if number is not None and (len(number) > 9 or int(number) > paginator.num_pages):
        raise Http404("No such page.")
    page = paginator.page(int(number or 1))
    response = render(request, "catalog/category_detail.html", {"category": category, "page": page})
    return _with_versions(response, [category, *page.object_list])


@cached_page("product:{slug}", holes=True)
@require_safe
def product_detail(request, slug):
    product = get_object_or_404(Product.objects.select_related("category"), slug=slug)
    response = render(request, "catalog/product_detail.html", {"product": product})
    return _with_versions(response, [product, product.category])
