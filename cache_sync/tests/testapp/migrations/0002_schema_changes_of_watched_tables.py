"""Schema changes of watched tables with data migrations between them, ending where 0001 left the models.

Each operation rebuilds the table on SQLite, or drops or renames a column the
triggers name; each write between them touches one book or shelf that
test_schema_changes.py reads (on empty tables, when a test database is created,
the writes touch nothing).
"""

from django.db import migrations, models
from django.db.models import F, Value
from django.db.models.functions import Concat


def touch_renamed_book(apps, schema_editor):
    Book = apps.get_model("testapp", "Book")  # its slug is named `handle` here
    books = Book.objects.using(schema_editor.connection.alias)  # the database being migrated, not "default"
    books.filter(handle="migrating-renamed").update(title=Concat(F("title"), Value(" [renamed]")))


class Migration(migrations.Migration):
    dependencies = [("testapp", "0001_initial")]

    operations = [
        migrations.AlterField("book", "title", models.CharField(max_length=250)),
        migrations.RunSQL(
            "UPDATE testapp_book SET title = title || ' [altered]' WHERE slug = 'migrating-altered'",
            migrations.RunSQL.noop,
        ),
        migrations.RenameField("book", "slug", "handle"),
        migrations.RunPython(touch_renamed_book, migrations.RunPython.noop),
        migrations.RenameField("book", "handle", "slug"),
        migrations.AlterField("book", "title", models.CharField(max_length=200)),
        migrations.RemoveField("shelf", "name"),
        migrations.RunSQL(
            "UPDATE testapp_shelf SET slug = 'migrated' WHERE slug = 'migrating'",
            migrations.RunSQL.noop,
        ),
        migrations.AddField("shelf", "name", models.CharField(default="", max_length=100), preserve_default=False),
        migrations.RunSQL(
            "UPDATE testapp_book SET title = title || ' [restored]' WHERE slug = 'migrating-restored'",
            migrations.RunSQL.noop,
        ),
    ]
