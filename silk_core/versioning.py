"""Row versions assigned by the database, on every write path.

Every UPDATE of a row raises its `version` by one, whatever wrote it, so two
concurrent writers never share a version and a version never moves backwards.
The ORM paths raise it in their own statement (`version = version + 1`:
`save()`, `update_fields`, `QuerySet.update()`, `bulk_update()`, `loaddata`);
an AFTER UPDATE row trigger corrects the rows of a statement that did not (raw
SQL). No BEFORE trigger: on PostgreSQL one that assigns NEW makes the server
lock the row as for a key update whenever the SET list names a unique column
(Django's save() names them all), so an INSERT that references the row (a
product into its category: the foreign-key check) would wait for the saving
transaction. Pages carry the versions of the rows they show (see
data_version.py) so that a reader can tell a stale page from a fresh one.

The trigger survives schema changes inside `migrate` (an SQLite table rebuild
drops a table's triggers): `version_triggers` is registered with cache_sync's
migration hooks, which drop and re-create it around each operation on a table.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models import F

VERSION_COLUMN = "version"


class VersionedQuerySet(models.QuerySet):
    def update(self, **kwargs) -> int:
        """Raise the version in the UPDATE itself (bulk_update() goes through here too)."""
        kwargs[VERSION_COLUMN] = F(VERSION_COLUMN) + 1
        return super().update(**kwargs)

    update.alters_data = True  # type: ignore[attr-defined]


class VersionedModel(models.Model):
    version = models.PositiveBigIntegerField(default=1, editable=False)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._version_raised = False
        super().save(*args, **kwargs)
        if self._version_raised:
            self.refresh_from_db(fields=[VERSION_COLUMN])  # what the database assigned

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        # save() (update_fields or not, raw loaddata too) raises the version in its own UPDATE.
        field = self._meta.get_field(VERSION_COLUMN)
        values = [value for value in values if value[0] is not field] + [(field, None, F(VERSION_COLUMN) + 1)]
        updated = super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        self._version_raised = updated
        return updated


def _trigger_name(table: str) -> str:
    return f"website_version_{table}"


def version_trigger_sql(vendor: str, table: str, pk: str) -> list[str]:
    """An AFTER UPDATE row trigger that sets OLD.version + 1 where the statement did not."""
    name = _trigger_name(table)
    correct = f'UPDATE "{table}" SET version = OLD.version + 1 WHERE "{pk}" = NEW."{pk}";'
    if vendor == "postgresql":
        return [
            f'CREATE OR REPLACE FUNCTION "{name}"() RETURNS trigger LANGUAGE plpgsql AS $$ '
            f"BEGIN {correct} RETURN NULL; END $$",
            # Depth 0 only: the correcting UPDATE (depth 1) sees OLD as the row the statement wrote.
            f'CREATE TRIGGER "{name}" AFTER UPDATE ON "{table}" FOR EACH ROW '
            f"WHEN (NEW.version IS DISTINCT FROM OLD.version + 1 AND pg_trigger_depth() < 1) "
            f'EXECUTE FUNCTION "{name}"()',
        ]
    if vendor == "sqlite":
        # The correcting UPDATE meets the WHEN clause no more (and recursive triggers are off).
        return [
            f'CREATE TRIGGER "{name}" AFTER UPDATE ON "{table}" FOR EACH ROW '
            f"WHEN NEW.version IS NOT OLD.version + 1 BEGIN {correct} END",
        ]
    raise NotImplementedError(f"No version trigger for {vendor}")


def drop_version_trigger_sql(vendor: str, table: str) -> list[str]:
    name = _trigger_name(table)
    if vendor == "postgresql":
        return [f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"', f'DROP FUNCTION IF EXISTS "{name}"()']
    return [f'DROP TRIGGER IF EXISTS "{name}"']


def _install(schema_editor, table: str, pk: str) -> None:
    vendor = schema_editor.connection.vendor
    for statement in [*drop_version_trigger_sql(vendor, table), *version_trigger_sql(vendor, table, pk)]:
        schema_editor.execute(statement, params=None)


class InstallVersionTrigger(Operation):
    """Migration operation: (re)install the version trigger of one VersionedModel's table."""

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
        # Dropped first: the migration hooks may have installed it already, around an earlier operation.
        _install(schema_editor, *self._table(app_label, to_state))

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        table, _pk = self._table(app_label, from_state)
        for statement in drop_version_trigger_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(statement, params=None)

    def describe(self) -> str:
        return f"Install the version trigger of {self.model_name}"


class ReinstallVersionTrigger(InstallVersionTrigger):
    """Replace an installed version trigger by the current one; backwards keeps the current one too
    (it corrects every write path, whatever the code that runs)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        _install(schema_editor, *self._table(app_label, from_state))

    def describe(self) -> str:
        return f"Reinstall the version trigger of {self.model_name}"


class VersionTriggers:
    """The site's per-table triggers for cache_sync's migration hooks (`register_table_triggers`)."""

    def _versioned_pk(self, table: str) -> str | None:
        for model in apps.get_models():
            if issubclass(model, VersionedModel) and model._meta.db_table == table:
                return model._meta.pk.column
        return None

    def drop(self, schema_editor, table: str) -> None:
        if self._versioned_pk(table) is not None:
            for statement in drop_version_trigger_sql(schema_editor.connection.vendor, table):
                schema_editor.execute(statement, params=None)

    def create(self, schema_editor, table: str, columns: frozenset[str]) -> None:
        pk = self._versioned_pk(table)
        if pk is not None and {pk, VERSION_COLUMN} <= columns:
            _install(schema_editor, table, pk)


version_triggers = VersionTriggers()
