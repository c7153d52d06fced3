"""404 and 500 pages in the site's look; the 500 page needs neither a request nor the database."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.views.defaults import server_error


@pytest.mark.django_db
def test_an_unknown_address_answers_the_sites_404_page(client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html and 'class="brand"' in html and "css/site.css" in html


def test_the_500_page_renders_without_context_processors_or_database():
    """No django_db mark: any query here fails the test."""
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and "css/site.css" in html and 'href="/"' in html


def test_the_500_template_renders_from_an_empty_context():
    assert "Something went wrong" in render_to_string("500.html")
