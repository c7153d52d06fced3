from django.db import migrations

from silk_core.versioning import InstallVersionTrigger


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [InstallVersionTrigger("category"), InstallVersionTrigger("product")]
