"""The portal as it runs (every middleware, tenant routing, sessions), plus the plain
one-query view at /plain, so the tumor-board pages are compared with it on the same server."""

from portal.settings.dev import *  # noqa: F403

ROOT_URLCONF = "bench.routed_urls"
DEBUG = False
