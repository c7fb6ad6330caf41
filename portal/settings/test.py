"""Tests: the same real PostgreSQL and Redis as development (embedded unless given)."""

import os

from portal.embedded import ensure_environment

os.environ.setdefault("SECRET_KEY", "test-only-not-secret-continuum-key-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("CONTINUUM_SCHEME", "http")
os.environ.setdefault("CELERY_QUEUE", "continuum-test")
ensure_environment()

from portal.settings.base import *  # noqa: E402,F403

ALLOWED_HOSTS = [".localhost", "localhost", "testserver", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
# Tests share one Redis with a running demo: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = "continuum-test"  # noqa: F405
TENANT_ROUTING_CACHE_SECONDS = 0
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405
