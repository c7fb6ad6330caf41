"""The portal as it runs (every middleware, tenant routing, sessions), plus the plain
one-query view at /plain, so every benchmark compares its pages with that view on the same
server in the same run (the machine's speed moves by up to 2× within an hour)."""

from portal.settings.dev import *  # noqa: F403

ROOT_URLCONF = "bench.routed_urls"
DEBUG = False
