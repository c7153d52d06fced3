"""`path("", include("cache_sync.urls"))`: the metrics at CACHE_SYNC['METRICS_PATH'] ("metrics")."""

from __future__ import annotations

from django.urls import path

from .conf import outside_option
from .metrics import metrics_view

urlpatterns = [path(str(outside_option("METRICS_PATH")).strip("/"), metrics_view, name="cache_sync-metrics")]
