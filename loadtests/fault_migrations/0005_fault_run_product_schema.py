from django.db import migrations, models


class Migration(migrations.Migration):
    """A release's migration of a watched table while the site serves: a new column, and a wider one
    (PostgreSQL refuses to alter a column's type that a trigger names, unless the triggers follow)."""

    dependencies = [("catalog", "0004_version_trigger_names")]

    operations = [
        migrations.AddField("product", "fault_note", models.CharField(max_length=40, null=True, blank=True)),
        migrations.AlterField("product", "name", models.CharField(max_length=240)),
    ]
