"""An organization's repository (tenant app): its tables exist only in its own schema."""

from __future__ import annotations

import uuid

from django.db import models


class OrganizationSetting(models.Model):
    """The organization's own settings, kept in its own schema."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
