from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("users/<str:username>/", views.public_profile, name="public-profile"),
]
