"""A web worker imports every view while it boots (portal/wsgi.py), so its first request does
not wait for those imports (the load benchmark measured 2 s, and 17 s on a saturated machine)."""

import json
import os
import secrets
import subprocess
import sys

from tests.conftest import BASE_DIR

VIEWS = ["portal.home.views", "portal.patients.views", "portal.messaging.views", "portal.care.views.referrals"]
PROBE = f"""
import json, sys
import django
django.setup()
views = {VIEWS!r}
before = [name for name in views if name in sys.modules]
import portal.wsgi
print(json.dumps({{"before": before, "after": [name for name in views if name in sys.modules]}}))
"""


def test_the_wsgi_application_has_imported_every_view_before_its_first_request() -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://continuum:unused@db.invalid:5432/continuum",  # never connected to
        REDIS_URL="redis://redis.invalid:6379/0",
        CONTINUUM_BASE_DOMAIN="portal.example.org",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    assert imported["before"] == []  # Django alone leaves them to the first request
    assert imported["after"] == VIEWS
