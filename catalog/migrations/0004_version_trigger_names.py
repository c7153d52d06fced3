from django.db import migrations

from silk_core.versioning import MoveVersionTrigger


class Migration(migrations.Migration):
    """The version triggers take stable names with the hash of their SQL beside them (cache_sync's idiom)."""

    dependencies = [("catalog", "0003_version_triggers_after_update")]

    operations = [MoveVersionTrigger("category"), MoveVersionTrigger("product")]
