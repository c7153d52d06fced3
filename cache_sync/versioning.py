"""Row versions assigned by the database, and the page header that shows them.

Every write of a `VersionedModel` row sets `version = version + 1` in the UPDATE
itself, so two concurrent writers never share a version; pages carry the versions
of the rows they show so that a reader can tell a stale page from a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import F

DATA_VERSION_HEADER = "X-Data-Version"


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


def format_data_version(objects: Iterable[models.Model]) -> str:
    """`label:pk=version` for each object, e.g. `catalog.product:7=3,catalog.category:2=1`."""
    return ",".join(f"{obj._meta.label_lower}:{obj.pk}={obj.version}" for obj in objects)


def parse_data_version(value: str) -> dict[str, int]:
    versions = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, version = item.rpartition("=")
        versions[name] = int(version)
    return versions
