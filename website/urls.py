from django.contrib import admin
from django.urls import include, path

handler500 = "website.unavailable.server_error"  # a lost database connection anywhere: 503, not 500

urlpatterns = [
    path("", include("catalog.urls")),
    path("", include("accounts.urls")),
    path("accounts/", include("accounts.auth_urls")),
    path("admin/", admin.site.urls),
    path("", include("cache_sync.urls")),  # /metrics (CACHE_SYNC["METRICS_PATH"]), local or staff clients
    path("", include("staff_api.urls")),
]
