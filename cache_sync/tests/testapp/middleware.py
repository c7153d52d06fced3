"""Middleware that the tests put behind the front door, to see what it skips and what it sees."""

from django.http import HttpResponse

calls = []


class CountingMiddleware:
    """Counts the requests that reach the stack behind the front door."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        calls.append(request.path)
        if request.path.startswith("/short-circuit/"):
            return HttpResponse("answered by a middleware")
        return self.get_response(request)


class MarkingMiddleware:
    """Adds a cookie after the view returned, to `/marked/...` pages: the decorator cannot see it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/marked/"):
            response.set_cookie("visited", "1")
        return response
