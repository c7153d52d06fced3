"""The site's own settings pass every check, the database ones included (triggers installed)."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_sites_settings_and_triggers_pass_the_checks():
    call_command("check", "--database", "default")
