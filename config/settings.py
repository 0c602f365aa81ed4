"""Settings for the medical-assistance portal.

Everything comes from environment variables (django-environ), with safe defaults for the
embedded mode: SQLite file, Celery tasks run eagerly in-process. `.env.example` lists
every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file next to manage.py (written by `make run`) fills in what the process
# environment does not set; the process environment always wins.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# --- Core -------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env (make run writes one)."
        )
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django admin whose default site requires a second factor (core.admin_site).
    "core.admin_apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Third party
    "django_filters",
    "simple_history",
    "django_celery_beat",
    "core.admin_apps.CeleryResultsConfig",  # django_celery_results, named in Chinese
    "core.admin_apps.AxesConfig",  # axes, named in Chinese
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Ours
    "core",
    "beneficiaries",
    "claims",
    "funds",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.PortalLanguageMiddleware",
    "core.middleware.NulQueryGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.SecondFactorMiddleware",
    "core.middleware.NoStoreForSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Inside CSP and the cache headers, so the page it renders for a bare 405 gets them.
    "core.middleware.MethodNotAllowedPageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last: turns a lockout flagged during authentication into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
# A failed CSRF check (a form left open past the session) shows the portal's 403 page.
CSRF_FAILURE_VIEW = "core.error_views.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "core.context_processors.portal",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Embedded mode: WAL lets readers work during a write; IMMEDIATE transactions take the
    # write lock up front so two writers queue instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Covering indexes (INCLUDE columns) speed up the high-cost scan on PostgreSQL; SQLite simply
# builds them without the extra columns, which is fine for the embedded mode.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Authentication ---------------------------------------------------------------------

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Axes first: it refuses a locked-out account or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# 等保2.0 level 3 (DOMAIN §8): length >= 10, not common, not numeric-only, not like the user.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in lockout (django-axes) -------------------------------------------------------

# Five failures for one account, or from one address, within 15 minutes lock that account
# (or address) for 15 minutes. The two are separate criteria, not their combination.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Attempts during a lockout do not extend it: the lock ends 15 minutes after it began.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful sign-in does not clear the counts: axes would clear every failure from that
# address too, so an attacker could sign in to their own account between guesses at another.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "core.signin.lockout_response"
# The same client-address rule as the audit trail (TRUSTED_PROXY_COUNT).
AXES_CLIENT_IP_CALLABLE = "core.audit.client_ip"
AXES_VERBOSE = False

# --- Second factor (django-otp) ----------------------------------------------------------

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="医疗救助经办管理平台")
# The seed_demo users may skip the second factor only in the demo (`make run` sets it);
# production never sets it, and `check --deploy` warns when it is set (core.W001).
DEMO_MODE = env.bool("DEMO_MODE", default=False)

# --- Internationalisation ---------------------------------------------------------------

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Scanned attachments (invoices, discharge summaries); larger files are refused by the form.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
# Exchanged .xlsx files (rosters, settlement extracts, statements) are refused before parsing
# when their members unpack to more than this (a zip bomb) or their first sheet has more rows.
# (An .xlsx of settlement rows packs ~14:1, so 25 x the upload limit admits every honest file.)
IMPORT_MAX_UNCOMPRESSED_BYTES = env.int(
    "IMPORT_MAX_UNCOMPRESSED_BYTES", default=25 * UPLOAD_MAX_BYTES
)
# A roster is planned in memory (~1 KB a row): 150,000 rows keep a worker under 256 MB.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=150_000)
IMPORT_MAX_COMPRESSION_RATIO = env.int("IMPORT_MAX_COMPRESSION_RATIO", default=100)

# --- Security (effective behind TLS in production) ---------------------------------------

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Sessions end after 30 minutes without a request, and when the browser closes.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# How many reverse proxies in front of the portal append to X-Forwarded-For; the client
# address is the one the outermost trusted proxy saw (core.audit.client_ip). 0 = REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Content-Security-Policy (django-csp): scripts and styles only from our own static files —
# no inline <script>, no on* handlers, no style attributes. Bootstrap's CSS draws some icons
# (select arrow, close button) as data: SVG images, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Celery -----------------------------------------------------------------------------

# Empty broker URL = the embedded mode: tasks run eagerly in the calling process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=6 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=6 * 3600 - 300)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies (kill -9, OOM) is put back on the queue, not acknowledged.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Redis redelivers an unacknowledged task after this long; with late acks it must exceed the
# longest task (the hard time limit), or a long run would be started twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
# Long jobs (check runs, settlement imports) refresh `heartbeat_at` this often; one silent for
# JOB_STALE_AFTER_SECONDS is taken for dead, marked interrupted and may be started again.
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=15)
JOB_STALE_AFTER_SECONDS = env.int("JOB_STALE_AFTER_SECONDS", default=120)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per job kind, so a long job of one kind does not starve the others: a worker
# started without -Q consumes them all (one host); several hosts each take some with
# `celery -A config worker -Q checks` etc. Chunks of a chunked job (core.chunked) go to the
# queue of their job: high-cost scan chunks to `checks`, 测算 chunks to `simulation`.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("celery", "imports", "checks", "simulation")]
CELERY_TASK_ROUTES = {
    "monitoring.tasks.settlement_import_task": {"queue": "imports"},
    "monitoring.tasks.run_check_task": {"queue": "checks"},
    "claims.tasks.simulation_task": {"queue": "simulation"},
    "claims.tasks.simulation_run_task": {"queue": "simulation"},
}
# A full high-cost scan of a year with at least this many settlements is split into this
# many person ranges over the `checks` workers (monitoring.scan_chunks); 测算 runs are cut
# into ranges of SIMULATION_RANGE_PERSONS persons (claims.simulation_chunks).
HIGH_COST_SCAN_CHUNKS = env.int("HIGH_COST_SCAN_CHUNKS", default=8)
HIGH_COST_SCAN_CHUNK_MIN_ROWS = env.int("HIGH_COST_SCAN_CHUNK_MIN_ROWS", default=1_000_000)
SIMULATION_RANGE_PERSONS = env.int("SIMULATION_RANGE_PERSONS", default=10_000)
# The per-person monthly cross checks (monitoring.check_chunks) are split into this many person
# ranges over the `checks` workers when the table they are cut by (persons; settlements for
# benefit_after_coverage and missed_reimbursement) has at least this many rows.
CROSS_CHECK_CHUNKS = env.int("CROSS_CHECK_CHUNKS", default=8)
CROSS_CHECK_CHUNK_MIN_ROWS = env.int("CROSS_CHECK_CHUNK_MIN_ROWS", default=200_000)

# --- Logging ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "filters": {"quiet_client_errors": {"()": "core.log_filters.QuietClientErrors"}},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A refused permission (403) is an INFO line, not a WARNING with a traceback; 5xx stay.
        "django.request": {"filters": ["quiet_client_errors"]},
        # WeasyPrint's per-PDF progress lines (and its font subsetter's) only at WARNING.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Portal -----------------------------------------------------------------------------

# Shown on forms and printed approval forms: the agency of AGENCY_AREA; other coordination
# areas name theirs in AGENCY_NAMES ("150200=包头市医疗保障事务中心,…"), else
# "<area>医疗保障事务中心" (core.regions.agency_name).
AGENCY_NAME = env.str("AGENCY_NAME", default="乌海市医疗保障事务中心")
AGENCY_AREA = env.str("AGENCY_AREA", default="150300")
AGENCY_NAMES = env.dict("AGENCY_NAMES", default={})
PORTAL_NAME = "医疗救助经办管理平台"
