"""A small write API for staff tools and the load test's writers.

`POST /staff/products/<slug>/` and `POST /staff/users/<username>/` change the
named row through a model form and `save()`, as the admin does;
`POST /staff/products/<slug>/price/` sets a price with `QuerySet.update()` and
`POST /staff/prices/` several with `bulk_update()` (paths that send no model
signal). Each answers with the version the database assigned, read in the
writing transaction. Authenticated by `Authorization: Bearer
<STAFF_API_TOKEN>`; with no token configured the API is off (404).
"""

from __future__ import annotations

import hmac

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.forms.models import model_to_dict
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.models import Category, Product


class ProductChangeForm(forms.ModelForm):
    category = forms.ModelChoiceField(Category.objects.all(), to_field_name="slug")

    class Meta:
        model = Product
        fields = ["name", "price", "description", "category"]


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["display_name", "bio"]


def _authorized(request: HttpRequest) -> bool:
    token = settings.STAFF_API_TOKEN
    if not token:
        raise Http404("The staff API is off: set STAFF_API_TOKEN.")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())


def _change(request: HttpRequest, form_class, instance, initial: dict) -> JsonResponse:
    if not _authorized(request):
        return JsonResponse({"error": "bad token"}, status=403)
    form = form_class({**initial, **request.POST.dict()}, instance=instance)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    with transaction.atomic():
        obj = form.save()
    return JsonResponse({"pk": obj.pk, "version": obj.version})


@csrf_exempt
@require_POST
def change_product(request: HttpRequest, slug: str) -> JsonResponse:
    product = get_object_or_404(Product.objects.select_related("category"), slug=slug)
    initial = {**model_to_dict(product, fields=["name", "price", "description"]), "category": product.category.slug}
    return _change(request, ProductChangeForm, product, initial)


@csrf_exempt
@require_POST
def change_user(request: HttpRequest, username: str) -> JsonResponse:
    user = get_object_or_404(get_user_model(), username=username)
    return _change(request, UserChangeForm, user, model_to_dict(user, fields=["display_name", "bio"]))


class PriceForm(forms.Form):
    price = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)


@csrf_exempt
@require_POST
def update_price(request: HttpRequest, slug: str) -> JsonResponse:
    """`QuerySet.update()`: no instance, no signal."""
    if not _authorized(request):
        return JsonResponse({"error": "bad token"}, status=403)
    form = PriceForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    with transaction.atomic():
        if not Product.objects.filter(slug=slug).update(price=form.cleaned_data["price"]):
            raise Http404("No such product.")
        pk, version = Product.objects.filter(slug=slug).values_list("pk", "version").get()
    return JsonResponse({"pk": pk, "version": version})


@csrf_exempt
@require_POST
def bulk_update_prices(request: HttpRequest) -> JsonResponse:
    """`bulk_update()` of the products named in `slugs` (comma-separated)."""
    if not _authorized(request):
        return JsonResponse({"error": "bad token"}, status=403)
    form = PriceForm(request.POST)
    slugs = [slug for slug in request.POST.get("slugs", "").split(",") if slug]
    if not form.is_valid() or not slugs:
        return JsonResponse({"errors": form.errors or {"slugs": ["Name at least one product."]}}, status=400)
    with transaction.atomic():
        products = list(Product.objects.select_for_update().filter(slug__in=slugs).order_by("pk"))
        for product in products:
            product.price = form.cleaned_data["price"]
        Product.objects.bulk_update(products, ["price"])
        rows = list(Product.objects.filter(pk__in=[p.pk for p in products]).values("pk", "slug", "version"))
    return JsonResponse({"rows": rows})
