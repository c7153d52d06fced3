"""The staff API's forms: a product's and a user's changeable fields, a price, a list of slugs."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model

from catalog.models import Category, Product

MAX_PRICE = Decimal("1000000.00")  # anything above is a typo or an attack, never a price of this shop
MAX_SLUGS = 100


def price_field() -> forms.DecimalField:
    return forms.DecimalField(max_digits=10, decimal_places=2, min_value=0, max_value=MAX_PRICE)


class ProductChangeForm(forms.ModelForm):
    category = forms.ModelChoiceField(Category.objects.all(), to_field_name="slug")
    price = price_field()

    class Meta:
        model = Product
        fields = ["name", "price", "description", "category"]


class UserChangeForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["display_name", "bio"]


class PriceForm(forms.Form):
    price = price_field()


class SlugListField(forms.Field):
    """Slugs as a JSON list of strings or a comma-separated string."""

    def to_python(self, value) -> list[str]:
        if value in self.empty_values:
            return []
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise forms.ValidationError("Give slugs as a list of strings or a comma-separated string.")
        return [item.strip() for item in items if item.strip()]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > MAX_SLUGS:
            raise forms.ValidationError(f"Name at most {MAX_SLUGS} products.")
        for slug in value:
            forms.SlugField().clean(slug)


class BulkPriceForm(PriceForm):
    slugs = SlugListField(error_messages={"required": "Name at least one product."})
