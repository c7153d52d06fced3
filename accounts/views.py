from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render

from cache_sync.pages import cached_page
from cache_sync.data_version import DATA_VERSION_HEADER, format_data_version


@cached_page("profile:{username}")
def public_profile(request, username):
    person = get_object_or_404(get_user_model(), username=username, is_active=True)
    response = render(request, "accounts/public_profile.html", {"person": person})
    response[DATA_VERSION_HEADER] = format_data_version([person])
    return response
