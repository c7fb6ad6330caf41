"""`manage.py check --deploy` with the production settings reports nothing: every check
that is silenced there says why beside it."""

import os
import secrets
import subprocess
import sys

from tests.conftest import BASE_DIR


def test_check_deploy_with_production_settings_reports_no_warning():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL="postgres://continuum:unused@db.invalid:5432/continuum",
        REDIS_URL="redis://redis.invalid:6379/0",
        CONTINUUM_BASE_DOMAIN="portal.example.org",
        DEBUG="false",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output and "ERRORS" not in output
