from django.db import migrations

from silk_core.versioning import MoveVersionTrigger


class Migration(migrations.Migration):
    """The version trigger takes a stable name with the hash of its SQL beside it (cache_sync's idiom)."""

    dependencies = [("accounts", "0006_version_trigger_after_update")]

    operations = [MoveVersionTrigger("user")]
