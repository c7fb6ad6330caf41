"""Tests: the same real PostgreSQL and Redis as development (embedded unless given)."""

import os

from portal.embedded import ensure_environment

os.environ.setdefault("SECRET_KEY", "test-only-not-secret-continuum-key-0123456789")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("CONTINUUM_SCHEME", "http")
os.environ.setdefault("CELERY_QUEUE", "continuum-test")
ensure_environment()
# Parallel test processes (pytest-xdist's gw0, gw1…) share the servers: each has a Celery
# queue, cache keys and a media folder of its own (and its database, test_continuum_gw0…).
# Set in the test process itself, over what it inherited from pytest's main process; the
# Celery worker and web server it starts inherit them (and keep a queue they are given).
TEST_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")
if TEST_PROCESS and os.environ.get("CONTINUUM_TEST_PROCESS") != TEST_PROCESS:
    from portal.embedded import data_dir

    os.environ["CONTINUUM_TEST_PROCESS"] = TEST_PROCESS
    os.environ["CELERY_QUEUE"] = f"continuum-test-{TEST_PROCESS}"
    os.environ["MEDIA_ROOT"] = str(data_dir() / "test-media" / TEST_PROCESS)

from portal.settings.base import *  # noqa: E402,F403

ALLOWED_HOSTS = [".localhost", "localhost", "testserver", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
# Tests share one Redis with a running demo: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = f"continuum-test-{TEST_PROCESS}" if TEST_PROCESS else "continuum-test"  # noqa: F405
TENANT_ROUTING_CACHE_SECONDS = 0
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405
# API clients' key sets served by a test's own HTTP server on the loopback.
FHIR_JWKS_HTTP_HOSTS = ["127.0.0.1"]
FHIR_JWKS_REFETCH_SECONDS = 0
