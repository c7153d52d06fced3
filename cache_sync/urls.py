"""`path("", include("cache_sync.urls"))`: the metrics at CACHE_SYNC['METRICS_PATH'] ("metrics")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .conf import get_config


def metrics(request: HttpRequest) -> HttpResponse:
    """Imports prometheus_client on first use: a site without it still loads its URLconf."""
    try:
        from .observe.metrics import metrics_view
    except ImportError as error:
        message = f"{error}: install prometheus-client (django-cache-sync[metrics]) to serve metrics"
        return HttpResponse(message, status=501, content_type="text/plain")
    return metrics_view(request)


urlpatterns = [path(get_config().metrics_path, metrics, name="cache_sync-metrics")]
