"""Files stored under each organization's own folder of MEDIA_ROOT."""

from __future__ import annotations

from typing import Any

from django_tenants.files.storage import TenantFileSystemStorage


class OrganizationFileStorage(TenantFileSystemStorage):
    """django-tenants' storage, forgetting its cached media root when MEDIA_ROOT changes.

    The parent caches ``MEDIA_ROOT/<schema>`` once and resets it only when
    MULTITENANT_RELATIVE_MEDIA_ROOT changes, so a changed MEDIA_ROOT (a test's
    ``settings.MEDIA_ROOT = tmp_path``) was ignored once any file had been stored.
    """

    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        super()._clear_cached_properties(setting, **kwargs)
        if setting in {"MEDIA_ROOT", "MEDIA_URL", "MULTITENANT_RELATIVE_MEDIA_ROOT"}:
            self.__dict__.pop("relative_media_root", None)
            self.__dict__.pop("relative_media_url", None)
