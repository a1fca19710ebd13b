"""Django settings, read from the environment (see the configuration table in README.md).

``DJANGO_ENV=development`` (the default) runs on an embedded SQLite file and a server-less
Celery broker under ``var/``. ``DJANGO_ENV=production`` demands a real secret key and host
names, and turns on every protection that ``manage.py check --deploy`` looks for.
"""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import envbool, envchoice, envint, envlist, envstr
from dashboard.schedule import beat_schedule

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DJANGO_ENV = envchoice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"
DEBUG = envbool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when DJANGO_ENV=production")
# Django's technical 404/500 pages instead of ours when DEBUG is on: for a developer who asks (dashboard/web/errors.py).
WATTSON_DEBUG_PAGES = envbool("WATTSON_DEBUG_PAGES", default=False)


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5):
            raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of random data")
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when DJANGO_ENV=production")
    # Development: one random key per checkout, kept under var/ so logins survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = (envstr("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # The project package holds settings, URLs, Celery and the schedule; as an app, only the migration history
    # of the models that moved to the apps below (docs/adr/0008). One-way dependencies: pyproject's contracts.
    "dashboard",
    "dashboard.teams",
    "collectors",
    "dashboard.footprint",
    "dashboard.recommend",
    "dashboard.notify",
    "dashboard.api",
    "dashboard.web",
]
if not PRODUCTION:
    # The simulated AWS and the demo commands (demo, demo_setup, sandbox, sandbox_accounts) are development tools:
    # production neither installs moto nor offers them.
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard.csp.ContentSecurityPolicyMiddleware",  # no inline script anywhere; see dashboard/csp.py
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Innermost: sees that no URL matched, and inside CommonMiddleware, whose APPEND_SLASH redirect still wins.
    "dashboard.web.errors.FriendlyErrorPagesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

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
                "dashboard.web.context_processors.teams",
            ],
        },
    },
]


def _database() -> dict:
    url = envstr("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    try:
        # Health checks: a persistent connection that a database restart killed is replaced at the start of the next
        # request instead of failing it with a 500 (seen in compose-test right after a PostgreSQL restart).
        config = dj_database_url.parse(
            url, conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # A file, not :memory:, so that a Celery worker in another process sees the test data.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
        # WAL lets the web read while a worker writes; IMMEDIATE transactions wait for the write lock (up to the
        # timeout) instead of failing with "database is locked" when a read turns into a write.
        config["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 30}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared by every web process and worker (the API throttle, cached emission series) ---
CACHE_TABLE = "wattson_cache"  # created by migration dashboard 0007, so `migrate` is enough


def _caches() -> dict:
    """``CACHE_URL``: ``redis://host:6379/1`` (or ``rediss://``), ``db://`` (the default: a table in the database)
    or ``locmem://`` (one process only: a throttle would count per process)."""
    url = envstr("CACHE_URL") or "db://"
    if url.startswith(("redis://", "rediss://")):
        cache = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    elif url == "db://":
        cache = {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }  # Django's 300 would cull live throttle counters
    elif url == "locmem://":
        cache = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    else:
        raise ImproperlyConfigured(f"CACHE_URL must be redis://…, rediss://…, db:// or locmem://, got {url!r}")
    return {"default": {**cache, "KEY_PREFIX": "wattson"}}


CACHES = _caches()

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Login throttling (dashboard/teams/login_throttle.py): Django's ModelBackend, refusing locked accounts and addresses
# before any password is checked, on the site's login and the admin's.
AUTHENTICATION_BACKENDS = ["dashboard.teams.login_throttle.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)  # failures per account …
LOGIN_ADDRESS_FAILURE_LIMIT = envint("LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)  # … and per client address …
LOGIN_COOLOFF_MINUTES = envint("LOGIN_COOLOFF_MINUTES", 15, minimum=1)  # … within this period lock it this long
# Proxies in front that append the client's address to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0, minimum=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "dashboard.staticfinders.PlotlyFinder",  # vendor/plotly.min.js from the installed plotly package, no CDN
]
STATIC_ROOT = Path(envstr("STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = not PRODUCTION  # development serves straight from static/, no collectstatic needed
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (all on in production; `manage.py check --deploy` must pass) ---
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if envbool("USE_X_FORWARDED_PROTO", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email (SMTP from the environment; Amazon SES over SMTP works the same way) ---
EMAIL_HOST = envstr("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = envint("EMAIL_PORT", 587 if PRODUCTION else 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", PRODUCTION)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "wattson@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- AWS (boto3 itself honours AWS_ENDPOINT_URL, AWS_DEFAULT_REGION and the credential chain) ---
AWS_ROLE_SESSION_NAME = envstr("AWS_ROLE_SESSION_NAME", "wattson-collector")
AWS_ASSUME_ROLE_SECONDS = envint("AWS_ASSUME_ROLE_SECONDS", 3600, minimum=900)
AWS_STS_REGION = envstr("AWS_STS_REGION", "us-east-1")  # where GetCallerIdentity and AssumeRole are called
# Accounts without a role run on the workers' own AWS identity: an operator-only mode, off by default, never offered
# to team owners (with it on, the identity check still refuses an account id that is not the workers' own).
COLLECT_ALLOW_ROLELESS_ACCOUNTS = envbool("COLLECT_ALLOW_ROLELESS_ACCOUNTS", False)
# Who customers must trust: the IAM role or user the workers run as (shown in the trust policy on account pages).
COLLECTOR_PRINCIPAL_ARN = envstr("COLLECTOR_PRINCIPAL_ARN", "arn:aws:iam::<WATTSON_ACCOUNT_ID>:role/<collector-role>")

# --- Collection ---
COLLECT_LOOKBACK_DAYS = envint("COLLECT_LOOKBACK_DAYS", 14, minimum=1)  # first run backfills this far
COLLECT_REREAD_HOURS = envint("COLLECT_REREAD_HOURS", 3, minimum=0)  # later runs re-read these for late data
# Every task is stopped after TASK_TIME_LIMIT_SECONDS, so a collection lease (and a message the broker holds for a
# worker) can be given up safely just after it: a killed worker delays data by about this long, never an hour.
TASK_TIME_LIMIT_SECONDS = envint("TASK_TIME_LIMIT_SECONDS", 900, minimum=30)
COLLECT_LEASE_SECONDS = envint(
    "COLLECT_LEASE_SECONDS", TASK_TIME_LIMIT_SECONDS + 30, minimum=TASK_TIME_LIMIT_SECONDS + 1
)
STORAGE_LENS_CONTROL_REGION = envstr("STORAGE_LENS_CONTROL_REGION", "us-east-1")

# --- Celery ---
# Without CELERY_BROKER_URL the broker is a folder under var/ (Kombu's filesystem transport),
# so the demo needs no Redis. Set CELERY_BROKER_URL=redis://... for anything real.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "celery-broker"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_queue_dir / "control"),  # Kombu's default is ./control, in the checkout
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # An unacknowledged message (its worker was killed) goes back to the queue once no task can still be running
    # it: just after the hard time limit, checked every 10 s, instead of Kombu's default of an hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": TASK_TIME_LIMIT_SECONDS + max(15, TASK_TIME_LIMIT_SECONDS // 10),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
    }
CELERY_TASK_TIME_LIMIT = TASK_TIME_LIMIT_SECONDS
CELERY_TASK_SOFT_TIME_LIMIT = max(TASK_TIME_LIMIT_SECONDS - 20, TASK_TIME_LIMIT_SECONDS * 9 // 10)
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND")
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
# A worker killed mid-task must lose nothing: acknowledge only when a task has finished,
# and give the message back to the broker when the worker process dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = beat_schedule()
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "dashboard.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["dashboard.api.auth.TeamMember"],
    "DEFAULT_THROTTLE_CLASSES": ["dashboard.api.auth.TokenRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"token": envstr("API_THROTTLE_RATE", "1200/min")},
    "URL_FORMAT_OVERRIDE": "format",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wattson API",
    "DESCRIPTION": "Per-endpoint utilization, energy (kWh) and CO2e (kg) of SageMaker fleets, recommendations, "
    "a FOCUS-style export. Authenticate with `Authorization: Bearer <token>` (create tokens in the "
    "web UI under API tokens).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "dashboard.api.schema.database_neutral",
        "dashboard.api.schema.documented_errors",
    ],
    "SERVE_AUTHENTICATION": [
        "dashboard.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
}

# --- Notifications: outbound webhooks and channels ---
WEBHOOK_ALLOWED_NETWORKS = envlist("WEBHOOK_ALLOWED_NETWORKS", [])  # CIDRs exempt from the private-address block
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
CHANNEL_MAX_PERMANENT_FAILURES = envint("CHANNEL_MAX_PERMANENT_FAILURES", 3, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
