"""Django settings, read from the environment.

``DOUDESK_MODE`` is ``sandbox`` (default: demo data, sandbox provider and payment) or
``production`` (refuses to start without ``DOUDESK_SECRET_KEY``, seeds nothing).
``DATABASE_URL`` selects PostgreSQL; without it the embedded SQLite file in ``DOUDESK_DATA_DIR``.
``REDIS_URL`` selects the Redis broker; without it kombu's SQLAlchemy transport on SQLite.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
DATA_DIR = Path(os.environ.get("DOUDESK_DATA_DIR", PROJECT_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_number(name: str, default: str, *, low: float = 0.0, high: float | None = None) -> float:
    """Read a numeric setting from the environment; a clear error when it is not one in range."""
    raw = os.environ.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value >= low and (high is None or value <= high)):  # also refuses NaN
        bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ImproperlyConfigured(f"{name} must be a number {bounds} (got {raw!r})")
    return value


MODE = os.environ.get("DOUDESK_MODE", "sandbox").strip().lower()
if MODE not in {"sandbox", "production"}:
    raise ImproperlyConfigured(f"DOUDESK_MODE must be 'sandbox' or 'production' (got {MODE!r})")
SANDBOX = MODE == "sandbox"

_secret = os.environ.get("DOUDESK_SECRET_KEY", "")
if not _secret:
    if not SANDBOX:
        raise ImproperlyConfigured("production mode needs DOUDESK_SECRET_KEY")
    _secret = "sandbox-insecure-secret-key-do-not-use-in-production"
elif not SANDBOX and (len(_secret) < 50 or len(set(_secret)) < 5):
    # Django's own bar for a key (check --deploy, W009): it signs sessions and derives keys.
    raise ImproperlyConfigured(
        "production mode needs a DOUDESK_SECRET_KEY of at least 50 characters, 5 of them "
        "different (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
SECRET_KEY = _secret
DEBUG = os.environ.get("DOUDESK_DEBUG", "") == "1"
# Sandbox serves a demo on any address; production answers only the names it is given.
_hosts_default = "*" if SANDBOX else "127.0.0.1,localhost,[::1]"
ALLOWED_HOSTS = [h for h in os.environ.get("DOUDESK_ALLOWED_HOSTS", _hosts_default).split(",") if h]
#: The platform's own base URL for calls to itself (the sandbox gateway's payment callback),
#: set by ``doudesk serve``; never taken from a request's Host header, which a client chooses.
#: Empty (tests, a bare runserver): the request's own address.
SITE_URL = os.environ.get("DOUDESK_SITE_URL", "").rstrip("/")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DOUDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]
#: Behind a TLS-terminating proxy (``DOUDESK_HTTPS=1``): cookies only over HTTPS, and the
#: proxy's ``X-Forwarded-Proto`` tells Django a request came in over it.
HTTPS = os.environ.get("DOUDESK_HTTPS", "") == "1"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# An expired form gets the site's own page (Django's tells a shop owner to set DEBUG).
CSRF_FAILURE_VIEW = "doudesk.web.views.errors.csrf_failure"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
#: Over HTTPS, browsers are told to use nothing else for this long (HSTS); 0 turns it off.
SECURE_HSTS_SECONDS = (
    int(_env_number("DOUDESK_HSTS_SECONDS", "31536000", low=0, high=2 * 31536000)) if HTTPS else 0
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "doudesk.accounts",
    "doudesk.catalog",
    "doudesk.wallet",
    "doudesk.providers",
    "doudesk.pricing",
    "doudesk.ledger",
    "doudesk.orders",
    "doudesk.health",
    "doudesk.matching",
    "doudesk.sandbox",  # its payment-callback task must be registered with the worker
    "doudesk.web",
    "doudesk.accounts.apps.LoginGuardConfig",  # django-axes
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "doudesk.web.middleware.SiteLanguageMiddleware",
    "doudesk.api.middleware.InputGuardMiddleware",
    "doudesk.api.middleware.ApiNotFoundMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "doudesk.web.middleware.PrivateAnswersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out log-in
]

ROOT_URLCONF = "doudesk.urls"
ASGI_APPLICATION = "doudesk.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "doudesk.web.context.site",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'doudesk.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _default_db)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue on the
    # busy timeout instead of failing with "database is locked" on lock upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(DATA_DIR / "test.sqlite3")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters travel apart from the statement (server-side binding), so psycopg can prepare
    # a statement once a connection has run it five times and skip parsing and planning it after
    # that: every order runs the same few dozen statements, and planning them anew was about
    # half of PostgreSQL's CPU per order (bench/orders.py). Options in the URL come first.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options.setdefault("server_side_binding", True)
    _pg_options.setdefault("prepare_threshold", 5)
# Persistent connections, one per long-lived thread (the worker's, the web's request threads).
DATABASES["default"]["CONN_MAX_AGE"] = 60
# A kept connection is checked (one SELECT 1) before its first use in each request or task: one
# the server dropped while it sat idle (a database restart, an idle timeout) is replaced there
# instead of failing the customer's request with a 500.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Web (uvicorn) processes `doudesk serve` starts. One process runs Python on one core at a time,
# so by default there is one per core the machine gives us, up to four (each holds its own
# request threads and connections).
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
WEB_WORKERS = int(_env_number("DOUDESK_WEB_WORKERS", str(min(_cores, 4)), low=1, high=64))
# Threads each uvicorn process runs requests on, each with its own database connection (asgi.py).
WEB_REQUEST_THREADS = int(_env_number("DOUDESK_WEB_THREADS", "16", low=1, high=1024))
# Live pages (Server-Sent Events, doudesk.web.sse): the server re-renders a page's fragment every
# tick and sends it when it changed; a stream ends after SSE_MAX_SECONDS (the browser reconnects).
SSE_TICK_SECONDS = 1.0
# A fragment unchanged this long is rendered every SSE_IDLE_TICK_SECONDS until it changes.
SSE_IDLE_AFTER_SECONDS = 30.0
SSE_IDLE_TICK_SECONDS = 5.0
SSE_HEARTBEAT_SECONDS = 15.0
SSE_MAX_SECONDS = 300.0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:catalog"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise serves the files from the finders (no collectstatic needed) but warns on every start
# while the root it would also serve from is missing.
STATIC_ROOT.mkdir(exist_ok=True)
# Front-end packages installed by npm from package.json, served by WhiteNoise (no CDN).
_NODE_MODULES = PROJECT_DIR / "node_modules"
STATICFILES_DIRS = [
    (prefix, _NODE_MODULES / package / "dist")
    for prefix, package in (
        ("vendor/htmx", "htmx.org"),
        ("vendor/htmx-ext-sse", "htmx-ext-sse"),
        ("vendor/echarts", "echarts"),
    )
    if (_NODE_MODULES / package / "dist").is_dir()
]
MEDIA_ROOT = DATA_DIR / "uploads"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# Each file is stopped at its view's limit while it streams (see doudesk.uploads), first.
FILE_UPLOAD_HANDLERS = [
    "doudesk.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Celery: Redis when configured, else the serverless SQLAlchemy transport on a SQLite file.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = os.environ.get("DOUDESK_TASKS_EAGER", "") == "1"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# On Redis, a message a worker took but had not finished when it stopped goes back to the
# queue after this long (Kombu's default is an hour: a paid top-up waited that long). Longer
# than any task runs or waits for its retry (at most a minute).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300} if REDIS_URL else {}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Celery's Django fix-up closes every database connection before and after each task unless this
# is set: on PostgreSQL a new connection per task cost the worker and the server more CPU than the
# task itself. Connections are kept and retired as Django retires them between web requests
# (past CONN_MAX_AGE or after an error), by doudesk.celery's task_prerun handler.
CELERY_DB_REUSE_MAX = 10**9

# Operator facts shown on the site.
# The sandbox shows a sample filing number; production shows only the operator's real one.
ICP_FILING_SAMPLE = "沪ICP备2026000000号-1"
ICP_FILING = os.environ.get("DOUDESK_ICP_FILING", ICP_FILING_SAMPLE if SANDBOX else "")
OPERATOR_NAME = os.environ.get("DOUDESK_OPERATOR_NAME", "DouDesk")
# Where the messages that say "contact support" send people (the footer links it).
SUPPORT_EMAIL = os.environ.get(
    "DOUDESK_SUPPORT_EMAIL", "support@sandbox.doudesk.cn" if SANDBOX else ""
)

# Personal data at rest: a Fernet key derived from the secret key unless given. Give one in
# production: with a derived key, changing the secret key makes ID numbers and provider keys
# unreadable.
FIELD_ENCRYPTION_KEY = os.environ.get("DOUDESK_FIELD_KEY", "")
if FIELD_ENCRYPTION_KEY:
    try:
        Fernet(FIELD_ENCRYPTION_KEY)  # the key's own check: 32 bytes, URL-safe base64
    except ValueError:
        raise ImproperlyConfigured(
            "DOUDESK_FIELD_KEY must be a Fernet key (32 bytes, URL-safe base64), e.g. from "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'"
        ) from None

# Sandbox provider and payment gateway.
SANDBOX_PROVIDER_HOST = os.environ.get("DOUDESK_SANDBOX_HOST", "127.0.0.1")
SANDBOX_PROVIDER_PORT = int(_env_number("DOUDESK_SANDBOX_PORT", "8765", low=1, high=65535))
SANDBOX_PROVIDER_KEY = os.environ.get("DOUDESK_SANDBOX_KEY", "sandbox-provider-key")
SANDBOX_SPEED = _env_number("DOUDESK_SANDBOX_SPEED", "100", low=0.001)
SANDBOX_PARTIAL_RATE = _env_number("DOUDESK_SANDBOX_PARTIAL_RATE", "0", high=1)
SANDBOX_FAIL_RATE = _env_number("DOUDESK_SANDBOX_FAIL_RATE", "0", high=1)
PAYMENT_SANDBOX_SECRET = os.environ.get("DOUDESK_PAYMENT_SECRET", "sandbox-payment-secret")
# A top-up left unpaid this long is closed (as gateways close unpaid trades); checked by the beat
# every TOPUP_EXPIRE_CHECK_INTERVAL seconds.
TOPUP_EXPIRE_MINUTES = _env_number("DOUDESK_TOPUP_EXPIRE_MINUTES", "30", low=1)
TOPUP_EXPIRE_CHECK_INTERVAL = 60.0

# How often the beat asks providers about open orders (seconds).
STATUS_SYNC_INTERVAL = _env_number("DOUDESK_STATUS_SYNC_INTERVAL", "2", low=0.05)
# How often the beat asks providers about refills they have not finished (seconds).
REFILL_SYNC_INTERVAL = _env_number("DOUDESK_REFILL_SYNC_INTERVAL", "30", low=0.05)
QUOTE_TTL_SECONDS = 600
# How often the beat republishes dynamic prices (seconds); prices move at most a step per hour.
PRICING_PUBLISH_INTERVAL = _env_number("DOUDESK_PRICING_INTERVAL", "3600", low=1)
# How often quotes and orders are folded into the demand model (seconds).
PRICING_FOLD_INTERVAL = _env_number("DOUDESK_PRICING_FOLD_INTERVAL", "60", low=1)

# Transparency log (ledger): the checkpoint origin line and the Ed25519 signing key, a C2SP
# "PRIVATE+KEY+<name>+<id>+<key>" string; without one, a key is generated once into
# DATA_DIR/ledger_signer.key (mode 0600).
LEDGER_ORIGIN = os.environ.get("DOUDESK_LEDGER_ORIGIN", "doudesk.local/ledger")
LEDGER_SIGNER_KEY = os.environ.get("DOUDESK_LEDGER_KEY", "")
LEDGER_KEY_FILE = DATA_DIR / "ledger_signer.key"
# How often the beat sequences pending leaves and signs a checkpoint (seconds).
LEDGER_SEQUENCE_INTERVAL = _env_number("DOUDESK_LEDGER_INTERVAL", "0.5", low=0.05)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DOUDESK_LOG_LEVEL", "WARNING")},
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts
    "doudesk.accounts.backends.IdentifierBackend",
]
# Password guessing (django-axes): five wrong passwords for one account from one address lock
# that pair out for 15 minutes; a successful log-in clears the count.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "doudesk.accounts.backends.login_identifier"
AXES_LOCKOUT_CALLABLE = "doudesk.web.views.accounts.login_locked_out"
