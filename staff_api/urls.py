from django.urls import path

from . import views

# Names without a namespace: the load test and the hardening suite reverse them as they were.
urlpatterns = [
    path("staff/products/<slug:slug>/", views.change_product, name="staff-change-product"),
    path("staff/products/<slug:slug>/price/", views.update_price, name="staff-update-price"),
    path("staff/prices/", views.bulk_update_prices, name="staff-bulk-update-prices"),
    path("staff/users/<username:username>/", views.change_user, name="staff-change-user"),
]
