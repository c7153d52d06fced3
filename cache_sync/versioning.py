"""Row versions assigned by the database.

Every write of a `VersionedModel` row sets `version = version + 1` in the UPDATE
itself, so two concurrent writers never share a version; pages carry the versions
of the rows they show (see data_version.py) so that a reader can tell a stale
page from a fresh one.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F


class VersionedModel(models.Model):
    version = models.PositiveBigIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        updating = not self._state.adding or kwargs.get("update_fields") or kwargs.get("force_update")
        if updating:
            self.version = F("version") + 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "version"}
        super().save(*args, **kwargs)
        if updating:
            self.refresh_from_db(fields=["version"])
