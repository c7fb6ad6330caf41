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
# HSTS preloading is the network operator's decision, not a default: once the base domain is
# on the browsers' preload lists, the domain and every organization's address under it must
# serve HTTPS for years, and taking it off again takes months. Set SECURE_HSTS_PRELOAD=true
# once the domain has been submitted (https://hstspreload.org/).
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # security.W021 ("SECURE_HSTS_PRELOAD is not True"): deliberate, see just above.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]  # noqa: F405
# /healthz and /readyz are answered before SecurityMiddleware (portal.availability), so
# a load balancer's plain-HTTP probe is never redirected.
# API clients' key sets are fetched over https only in production (FHIR_JWKS_HTTP_HOSTS is for
# tests and development).
FHIR_JWKS_HTTP_HOSTS = []
