"""The plain view behind the portal's tenant routing only (cached address lookup), to
measure what routing costs on an otherwise identical request."""

from portal.settings.dev import *  # noqa: F403

ROOT_URLCONF = "bench.routed_urls"
PUBLIC_SCHEMA_URLCONF = "bench.routed_urls"
MIDDLEWARE = ["tenants.middleware.CachedTenantMiddleware", "django.middleware.common.CommonMiddleware"]
DEBUG = False
