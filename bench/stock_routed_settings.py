"""The same, with django-tenants' stock middleware: the domain table is read on every
request (what the portal's cached routing avoids)."""

from bench.routed_settings import *  # noqa: F403

MIDDLEWARE = ["django_tenants.middleware.main.TenantMainMiddleware", "django.middleware.common.CommonMiddleware"]
