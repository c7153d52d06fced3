from django.urls import path

from cache_sync.tests.testapp import views

urlpatterns = [
    path("books/<slug:slug>/", views.book, name="book"),
    path("shelves/<slug:slug>/", views.shelf, name="shelf"),
    path("tags/<slug:code>/", views.tag, name="tag"),
]
