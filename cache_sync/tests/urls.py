from django.urls import path

from cache_sync.tests.testapp import views

urlpatterns = [
    path("books/<slug:slug>/", views.book, name="book"),
    path("shelves/<slug:slug>/", views.shelf, name="shelf"),
    path("tags/<slug:code>/", views.tag, name="tag"),
    path("async-books/<slug:slug>/", views.book_async, name="book-async"),
    path("forms/<slug:name>/", views.form_with_csrf_token),
    path("plain/<slug:name>/", views.plain),
    path("short-circuit/<slug:name>/", views.plain),  # a test middleware answers these itself
    path("marked/<slug:name>/", views.plain),  # a test middleware adds a cookie to these
    path("lang/<slug:name>/", views.by_language),
    path("lang-keyed/<slug:name>/", views.by_language_keyed),
    path("private/<slug:name>/", views.private_page),
    path("twins/<slug:slug>/", views.twin_detail),
    path("twins/<slug:slug>/reviews/", views.twin_reviews),
    path("greetings/<slug:name>/", views.greeting),
    path("rename/<slug:slug>/", views.rename_book),
    path("uncached-books/<slug:slug>/", views.book_uncached),
    path("holed/<slug:slug>/", views.holed_book),
    path("holed-baskets/<slug:name>/", views.holed_basket),
    path("baskets/<slug:name>/", views.basket),
    path("baskets/<slug:name>/add/", views.add_to_basket),
]
