from django.contrib import admin
from django.urls import include, path, re_path

from accounts.converters import UsernameConverter

from . import staff_api

handler500 = "website.unavailable.server_error"  # a lost database connection anywhere: 503, not 500

urlpatterns = [
    path("", include("catalog.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("accounts.auth_urls")),
    path("admin/", admin.site.urls),
    path("", include("cache_sync.urls")),  # /metrics (CACHE_SYNC["METRICS_PATH"]), local or staff clients
    path("staff/products/<slug:slug>/", staff_api.change_product, name="staff-change-product"),
    path("staff/products/<slug:slug>/price/", staff_api.update_price, name="staff-update-price"),
    path("staff/prices/", staff_api.bulk_update_prices, name="staff-bulk-update-prices"),
    re_path(
        rf"^staff/users/(?P<username>{UsernameConverter.regex})/$", staff_api.change_user, name="staff-change-user"
    ),
]
