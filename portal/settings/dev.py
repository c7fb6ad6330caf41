"""Development and demo: embedded PostgreSQL and Redis unless URLs are given."""

import os

from portal.embedded import data_dir, ensure_environment

os.environ.setdefault("SECRET_KEY", "dev-only-not-secret-continuum-demo-key-0123456789")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
os.environ.setdefault("CONTINUUM_SCHEME", "http")
os.environ.setdefault("CONTINUUM_PORT", "8000")
os.environ.setdefault("EMAIL_FILE_PATH", str(data_dir() / "mail"))
ensure_environment()

from portal.settings.base import *  # noqa: E402,F403

ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"]  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
