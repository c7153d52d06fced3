from django.db import migrations

from silk_core.versioning import ReinstallVersionTrigger


class Migration(migrations.Migration):
    """The version trigger becomes an AFTER trigger: the BEFORE one made saves lock rows as for a key update."""

    dependencies = [("accounts", "0005_username_validators")]

    operations = [ReinstallVersionTrigger("user")]
