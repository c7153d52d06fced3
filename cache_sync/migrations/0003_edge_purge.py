import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cache_sync", "0002_relay_heartbeat_seen_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="EdgePurge",
            fields=[
                ("key", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("stamp", models.BigIntegerField()),
                ("queued_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={
                "db_table": "cache_sync_edge_purge",
            },
        ),
    ]
