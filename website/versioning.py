"""Row versions assigned by the database, on every write path.

A trigger raises `version` by one on every UPDATE of the row, whatever wrote it
(`save()`, `QuerySet.update()`, `bulk_update()`, `loaddata`, raw SQL), so two
concurrent writers never share a version and a version never moves backwards.
Pages carry the versions of the rows they show (see data_version.py) so that a
reader can tell a stale page from a fresh one.
"""

from __future__ import annotations

from django.db import models
from django.db.migrations.operations.base import Operation


class VersionedModel(models.Model):
    version = models.PositiveBigIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        updating = not self._state.adding
        super().save(*args, **kwargs)
        if updating:
            self.refresh_from_db(fields=["version"])  # what the trigger assigned


def _trigger_name(table: str) -> str:
    return f"website_version_{table}"


def version_trigger_sql(vendor: str, table: str, pk: str) -> list[str]:
    name = _trigger_name(table)
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$ '
            "BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$",
            f'CREATE TRIGGER "{name}" BEFORE UPDATE ON "{table}" FOR EACH ROW EXECUTE FUNCTION "{name}"()',
        ]
    if vendor == "sqlite":
        # SQLite cannot assign NEW: correct the row after the update (recursive triggers are off).
        return [
            f'CREATE TRIGGER "{name}" AFTER UPDATE ON "{table}" FOR EACH ROW '
            "WHEN NEW.version IS NOT OLD.version + 1 "
            f'BEGIN UPDATE "{table}" SET version = OLD.version + 1 WHERE "{pk}" = NEW."{pk}"; END',
        ]
    raise NotImplementedError(f"No version trigger for {vendor}")


def drop_version_trigger_sql(vendor: str, table: str) -> list[str]:
    name = _trigger_name(table)
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"', f'DROP FUNCTION IF EXISTS "{name}"()']
    return [f'DROP TRIGGER IF EXISTS "{name}"']


class InstallVersionTrigger(Operation):
    """Migration operation: the version trigger of one VersionedModel's table."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self):
        return self.__class__.__qualname__, [self.model_name], {}

    def state_forwards(self, app_label, state) -> None:
        pass

    def _table(self, app_label, state):
        model = state.apps.get_model(app_label, self.model_name)
        return model._meta.db_table, model._meta.pk.column

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        table, pk = self._table(app_label, to_state)
        for statement in version_trigger_sql(schema_editor.connection.vendor, table, pk):
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        table, _pk = self._table(app_label, from_state)
        for statement in drop_version_trigger_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(statement)

    def describe(self) -> str:
        return f"Install the version trigger of {self.model_name}"
