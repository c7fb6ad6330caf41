"""Production: everything from the environment, safe by default.

SECRET_KEY, DATABASE_URL and REDIS_URL have no default here: a missing one stops the
process at start-up.
"""

from portal.settings.base import *  # noqa: F403
from portal.settings.env import env_bool, env_int

DEBUG = env_bool("DEBUG", False)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = False
# /healthz and /readyz are answered before SecurityMiddleware (portal.availability), so
# a load balancer's plain-HTTP probe is never redirected.
