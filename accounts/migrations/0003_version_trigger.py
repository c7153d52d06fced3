from django.db import migrations

from silk_core.versioning import InstallVersionTrigger


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_case_insensitive_username_and_email")]

    operations = [InstallVersionTrigger("user")]
