"""A small write API for staff tools and the load test's writers.

`POST /staff/products/<slug>/` and `POST /staff/users/<username>/` change the
named row through the ORM (so signals fire as in the admin) and answer with the
version the database assigned. Authenticated by `Authorization: Bearer
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
