"""The site, plus the pages `make bench` compares the cached ones with (benchmarks/urls.py)."""

from website.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
