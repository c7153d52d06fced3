from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("users/<username:username>/", views.public_profile, name="public-profile"),
    path("accounts/register/", views.RegisterView.as_view(), name="register"),
    path("accounts/register/done/", views.RegisterDoneView.as_view(), name="register-done"),
    path("accounts/resend-activation/", views.ResendActivationView.as_view(), name="resend-activation"),
    path("accounts/resend-activation/done/", views.ResendActivationDoneView.as_view(), name="resend-activation-done"),
    path("accounts/activate/<str:uidb64>/<str:token>/", views.activate, name="activate"),
    path("accounts/profile/", views.ProfileView.as_view(), name="profile"),
]
