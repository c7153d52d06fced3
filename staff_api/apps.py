from django.apps import AppConfig


class StaffApiConfig(AppConfig):
    """A small write API for staff tools and the load test's writers, over catalog's and accounts' models."""

    name = "staff_api"
    verbose_name = "Staff API"
