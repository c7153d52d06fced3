"""A small write API for staff tools and the load test's writers.

`POST /staff/products/<slug>/` and `POST /staff/users/<username>/` change the
named row through a model form and `save()`, as the admin does;
`POST /staff/products/<slug>/price/` sets a price with `QuerySet.update()` and
`POST /staff/prices/` several with `bulk_update()` (paths that send no model
signal). Each answers with the version the database assigned, read in the
writing transaction.

Every request is checked in this order, so that an answer never tells a caller
without the token which products or users exist: the API is on (else 404), the
`Authorization: Bearer <STAFF_API_TOKEN>` header matches, compared in constant
time (else 401), the method is POST (else 405 with `Allow`), the body is JSON
(`application/json`, an object) or form data (else 415, or 400 when malformed);
only then is the row looked up (404) and the values validated (400). Every
answer is JSON: `{"error": ...}`, with `"errors"` per field for invalid values.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from catalog.models import Product

from .forms import BulkPriceForm, PriceForm, ProductChangeForm, SlugListField, UserChangeForm
from .request_body import BadBody, read_body


def error(status: int, message: str, errors: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": message, **({"errors": errors} if errors else {})}, status=status)


def bearer_token_matches(request: HttpRequest, token: str) -> bool:
    """`Authorization: Bearer <token>` exactly; a bare token or another scheme is refused."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared even for a wrong scheme, so the time taken does not tell which part was wrong.
    matches = hmac.compare_digest(given.strip().encode(), token.encode())
    return matches and scheme.lower() == "bearer"


def staff_endpoint(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """Token, method and body are checked before the view looks anything up; it gets the body as `data`."""

    @csrf_exempt
    @wraps(view)
    def endpoint(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        token = settings.STAFF_API_TOKEN
        if not token:
            raise Http404("The staff API is off: set STAFF_API_TOKEN.")
        if not bearer_token_matches(request, token):
            response = error(401, "Send Authorization: Bearer <STAFF_API_TOKEN>.")
            response["WWW-Authenticate"] = 'Bearer realm="staff"'
            return response
        if request.method != "POST":
            response = error(405, f"Method {request.method} not allowed: use POST.")
            response["Allow"] = "POST"
            return response
        try:
            data = read_body(request)
        except BadBody as bad:
            return error(bad.status, str(bad))
        return view(request, data, *args, **kwargs)

    return endpoint


def field_problems(data: dict, form_class: type[forms.BaseForm]) -> dict[str, list[str]]:
    """Names the form does not have, and lists given to a field that takes one value."""
    fields = form_class.base_fields
    problems = {name: ["Unknown field."] for name in data if name not in fields}
    for name, value in data.items():
        if name in fields and isinstance(value, list) and not isinstance(fields[name], SlugListField):
            problems[name] = ["Give one value, not a list."]
    return problems


def invalid(errors: dict) -> JsonResponse:
    return error(400, "Invalid values.", errors)


def change(form_class: type[forms.ModelForm], instance, initial: dict, data: dict) -> JsonResponse:
    """Only the fields given change; the others keep the row's values."""
    if problems := field_problems(data, form_class):
        return invalid(problems)
    if not data:
        return error(400, f"Nothing to change: give one of {', '.join(form_class.base_fields)}.")
    form = form_class({**initial, **data}, instance=instance)
    if not form.is_valid():
        return invalid(form.errors)
    with transaction.atomic():
        obj = form.save()
    return JsonResponse({"pk": obj.pk, "version": obj.version})


@staff_endpoint
def change_product(request: HttpRequest, data: dict, slug: str) -> JsonResponse:
    product = Product.objects.select_related("category").filter(slug=slug).first()
    if product is None:
        return error(404, "No such product.")
    initial = {**model_to_dict(product, fields=["name", "price", "description"]), "category": product.category.slug}
    return change(ProductChangeForm, product, initial, data)


@staff_endpoint
def change_user(request: HttpRequest, data: dict, username: str) -> JsonResponse:
    user = get_user_model()._default_manager.filter(username=username).first()
    if user is None:
        return error(404, "No such user.")
    return change(UserChangeForm, user, model_to_dict(user, fields=["display_name", "bio"]), data)


@staff_endpoint
def update_price(request: HttpRequest, data: dict, slug: str) -> JsonResponse:
    """`QuerySet.update()`: no instance, no signal."""
    form = PriceForm(data)
    if problems := field_problems(data, PriceForm):
        return invalid(problems)
    if not form.is_valid():
        return invalid(form.errors)
    with transaction.atomic():
        if not Product.objects.filter(slug=slug).update(price=form.cleaned_data["price"]):
            return error(404, "No such product.")
        pk, version = Product.objects.filter(slug=slug).values_list("pk", "version").get()
    return JsonResponse({"pk": pk, "version": version})


@staff_endpoint
def bulk_update_prices(request: HttpRequest, data: dict) -> JsonResponse:
    """`bulk_update()` of the products named in `slugs`; unknown slugs are left out of `rows`."""
    form = BulkPriceForm(data)
    if problems := field_problems(data, BulkPriceForm):
        return invalid(problems)
    if not form.is_valid():
        return invalid(form.errors)
    with transaction.atomic():
        products = list(Product.objects.select_for_update().filter(slug__in=form.cleaned_data["slugs"]).order_by("pk"))
        for product in products:
            product.price = form.cleaned_data["price"]
        Product.objects.bulk_update(products, ["price"])
        rows = list(Product.objects.filter(pk__in=[p.pk for p in products]).values("pk", "slug", "version"))
    return JsonResponse({"rows": rows})
