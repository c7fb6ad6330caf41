"""The baseline of the routing benchmark: the same Django, database and server, with no
tenant routing, no session and one query per request."""

from portal.settings.dev import *  # noqa: F403

ROOT_URLCONF = "bench.plain_urls"
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DEBUG = False
