from django.db import migrations

from silk_core.versioning import ReinstallVersionTrigger


class Migration(migrations.Migration):
    """The version trigger becomes an AFTER trigger: the BEFORE one made saves lock rows as for a key update."""

    dependencies = [("catalog", "0002_version_triggers")]

    operations = [ReinstallVersionTrigger("category"), ReinstallVersionTrigger("product")]
