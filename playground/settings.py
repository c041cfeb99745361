"""Settings for the GPT Image playground.

One file, driven by environment variables (documented in README.md). With none set
the playground runs on SQLite, django-q2's ORM broker and media on local disk, so a
fresh clone works without any service. Production differs only by its environment.
"""

import contextlib
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str = "0") -> bool:
    return os.getenv(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    return int(os.getenv(name) or default)


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


DEBUG = envbool("DJANGO_DEBUG")
# Error reports and the debug page hide settings whose names say they hold secrets;
# ours also hide every URL and connection setting (DATABASE_URL and REDIS_URL carry
# passwords), see playground/teams/debug.py.
DEFAULT_EXCEPTION_REPORTER_FILTER = "playground.teams.debug.HideCredentials"
# The fallback key only exists so a fresh clone starts with zero configuration;
# `manage.py check --deploy` flags it, and the Dockerfile refuses to run without one.
SECRET_KEY = os.getenv("DJANGO_SECRET_KEY") or "django-insecure-dev-only-key-change-me"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Local state of a zero-configuration run (SQLite file, uploaded and generated media).
VAR_DIR = Path(os.getenv("PLAYGROUND_VAR_DIR", BASE_DIR / "var"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_q",
    "csp",
    "axes",
    # Shared web plumbing under every app (imports none of them).
    "playground.lib",
    # Our apps. Which may import which (the layers) is written in README.md,
    # "Architecture", and checked by tests/test_architecture.py; this order is not it.
    "playground.teams",
    "playground.audit",
    "playground.billing",
    "playground.apitokens",
    "playground.generations",
    "playground.evolink",
    "playground.studio",
    "playground.gallery",
    "playground.matrix",
    "playground.exports",
    "playground.notifications",
    "playground.comments",
    "playground.reviews",
    "playground.sharing",
    "playground.alerts",
    "playground.sso",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: what htmx says about a request (is it one, which element sent it).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's saved language, over the cookie and Accept-Language.
    "playground.teams.middleware.saved_language",
    # Every page but the login page needs a signed-in user (views opt out explicitly).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Pages for a signed-in person are never kept by a browser or proxy cache.
    "playground.lib.middleware.no_store_for_people",
    "playground.lib.middleware.idle_sessions_expire",
    # The bell's unread count on every self-refreshing fragment's answer.
    "playground.notifications.middleware.bell_on_refresh",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "playground.urls"
WSGI_APPLICATION = "playground.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # Run for every template, the fragments that poll every 2 s too: nothing here
            # may query eagerly (the studio's upstream banner is asked in its own view).
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "playground.lib.context_processors.javascript_catalogue",
                "playground.teams.context_processors.teams",
                "playground.notifications.context_processors.bell",
                "playground.reviews.context_processors.reviews",
            ],
        },
    },
]

if not os.getenv("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'playground.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker cluster write to the same file: wait for
    # locks instead of failing, and take the write lock up front.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: tests start real worker processes that share the test database.
    # One per test process, so two test runs on one machine never share a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
# A persistent connection the database dropped (a restart, a failover) is noticed and
# reopened when a request or task starts, instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# E-mail (password resets): printed to the console unless EMAIL_HOST names an SMTP
# server (EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS).
EMAIL_HOST = os.getenv("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "1")
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "GPT Image playground <playground@localhost>")

# Spend alerts (playground/alerts/): a failed delivery is tried again after
# ALERTS_RETRY_SECONDS × 4^(attempt - 1), up to ALERTS_MAX_ATTEMPTS attempts. Webhooks
# to private, loopback and link-local addresses are refused unless
# ALERTS_WEBHOOK_ALLOW_PRIVATE is on (a receiver inside the company's network).
ALERTS_RETRY_SECONDS = float(os.getenv("ALERTS_RETRY_SECONDS", "30"))
ALERTS_MAX_ATTEMPTS = envint("ALERTS_MAX_ATTEMPTS", 6)
ALERTS_WEBHOOK_ALLOW_PRIVATE = envbool("ALERTS_WEBHOOK_ALLOW_PRIVATE")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean")), ("ja", _("Japanese"))]
LOCALE_PATHS = [BASE_DIR / "playground" / "locale"]
TIME_ZONE = os.getenv("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.getenv("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", VAR_DIR / "media"))
# Hashed, compressed static files when DJANGO_STATIC_MANIFEST=1. The Docker image sets it
# for the build, whose `collectstatic` then writes the manifest with a .gz and .br beside
# each file, and for the server, whose pages link css/playground.<hash>.css; WhiteNoise
# serves the hashed names with a year's Cache-Control (immutable), the rest for 60 s. Off
# (tests, a fresh clone, `manage.py playground`): plain names straight from static/ through
# WhiteNoise's finders, so nothing needs a build step and an edited file shows at once.
STATIC_MANIFEST = envbool("DJANGO_STATIC_MANIFEST")
if not STATIC_MANIFEST:
    # WhiteNoise scans STATIC_ROOT in every process and warns ("No directory at: …")
    # on each start when it is missing; empty until `collectstatic` (gitignored), it
    # costs nothing. A read-only checkout simply keeps the warning.
    with contextlib.suppress(OSError):
        STATIC_ROOT.mkdir(exist_ok=True)
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Archived results and references in S3-compatible object storage, when S3_BUCKET is
# set (django-storages); local disk otherwise. Objects stay private: people get them
# through our views (access checks stay ours), EvoLink through presigned links.
S3_BUCKET = os.getenv("S3_BUCKET", "")
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": os.getenv("S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("S3_REGION", "us-east-1"),
            "access_key": os.getenv("S3_ACCESS_KEY_ID") or None,
            "secret_key": os.getenv("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            # Presigned links for EvoLink live as long as a reference link (7 days,
            # the most a v4 signature allows).
            "querystring_expire": int(os.getenv("REFERENCE_URL_MAX_AGE") or 7 * 24 * 3600),
            "file_overwrite": True,
            "signature_version": "s3v4",
            "addressing_style": os.getenv("S3_ADDRESSING_STYLE", "auto"),
        },
    }
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
# Files served at the site's root: /favicon.ico, which browsers ask for on pages that
# link no icon (the admin, an image opened on its own); base.html links favicon.svg.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_MANIFEST_STRICT = False

# --- Security ---------------------------------------------------------------------------
# Served over HTTPS (PUBLIC_BASE_URL says so): secure cookies, a redirect to HTTPS and
# HSTS are on unless the environment turns them off. Behind a proxy that ends TLS, set
# DJANGO_PROXY_SSL_HEADER=1 so Django trusts its X-Forwarded-Proto.
_HTTPS = os.getenv("PUBLIC_BASE_URL", "").startswith("https://")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", "1" if _HTTPS else "0")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The language menu's cookie too: sent over HTTPS only there, never on cross-site posts.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = envbool("DJANGO_SSL_REDIRECT", "1" if _HTTPS else "0")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "1")
SECURE_HSTS_PRELOAD = envbool("DJANGO_HSTS_PRELOAD", "1")
if envbool("DJANGO_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A login ends after this many seconds without the person doing anything (12 hours by
# default); pages refreshing themselves do not count (playground/lib/middleware.py).
SESSION_COOKIE_AGE = envint("DJANGO_SESSION_IDLE_SECONDS", 12 * 3600)

# Content-Security-Policy (django-csp): scripts only from our own files (htmx runs
# with allowEval off and no hx-on, see base.html), nothing framed, no plugins.
# Inline style attributes stay allowed: the admin and a few widgets use them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Login throttling (django-axes), on the site's and the admin's login: after
# AXES_FAILURE_LIMIT failures for one username from one address, that pair waits
# AXES_COOLOFF_TIME hours and gets a page saying so.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # PASSWORD_LOGIN=off refuses password logins here, before the ModelBackend.
    "playground.sso.backends.PasswordLoginSwitch",
    "django.contrib.auth.backends.ModelBackend",
    # Sign-ins coming back from the OpenID provider (only when OIDC_ISSUER is set).
    "playground.sso.backends.SignInBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = float(os.getenv("LOGIN_COOLOFF_MINUTES", "15")) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# The audit log keeps its entries this many days; an hourly task removes older ones
# (playground/audit/tasks.py). The log is otherwise append-only.
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", 400)

# Personal API tokens (playground/apitokens/auth.py): requests a minute per token, and
# failed authentications per client address in a window (then that address waits the
# window out, as a login does after django-axes' limit).
API_REQUESTS_PER_MINUTE = envint("API_REQUESTS_PER_MINUTE", 60)
API_AUTH_FAILURES_PER_ADDRESS = envint("API_AUTH_FAILURES_PER_ADDRESS", 10)
API_AUTH_WINDOW_SECONDS = envint("API_AUTH_WINDOW_SECONDS", 15 * 60)
# The images API (playground/api/): how long POST /v1/images/generations waits for the
# images before answering 202 with the job's address (under gunicorn's 60 s timeout),
# and how long the signed image links of its answers work.
API_WAIT_SECONDS = float(os.getenv("API_WAIT_SECONDS", "25"))
API_IMAGE_URL_SECONDS = envint("API_IMAGE_URL_SECONDS", 3600)
# --- Single sign-on (OpenID Connect; playground/sso/, README "Single sign-on") ----------
# No OIDC_ISSUER: no provider, and the login page is the password form alone.
OIDC_ISSUER = os.getenv("OIDC_ISSUER", "").strip()
OIDC_CLIENT_ID = os.getenv("OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.getenv("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = os.getenv("OIDC_PROVIDER_NAME", "")
OIDC_ALLOWED_DOMAINS = envlist("OIDC_ALLOWED_DOMAINS", "")
OIDC_GROUPS_CLAIM = os.getenv("OIDC_GROUPS_CLAIM", "groups")
OIDC_GROUP_TEAMS = os.getenv("OIDC_GROUP_TEAMS", "")
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", 10)
# Off: no password form, and every password login (the admin's too) is refused; only
# while a provider is configured (else nobody could sign in).
PASSWORD_LOGIN = envbool("PASSWORD_LOGIN", "1")
# mozilla-django-oidc's own settings (the endpoints come from discovery, sso/discovery.py).
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_CREATE_USER = True
LOGIN_REDIRECT_URL_FAILURE = "login"

# Password reset: at most this many e-mails per address, and requests per client
# address, in each window (playground/teams/accounts.py); past that the page answers
# the same and sends nothing.
PASSWORD_RESET_PER_ADDRESS = envint("PASSWORD_RESET_PER_ADDRESS", 3)
PASSWORD_RESET_PER_CLIENT = envint("PASSWORD_RESET_PER_CLIENT", 10)
PASSWORD_RESET_WINDOW_SECONDS = envint("PASSWORD_RESET_WINDOW_SECONDS", 3600)

# Share links' public pages (playground/sharing/throttle.py): requests per minute per
# client address under /s/ (a page and each of its images count), and passwords tried
# on one link per address in 15 minutes. Past either, 429 with Retry-After.
SHARE_LINK_REQUESTS_PER_MINUTE = envint("SHARE_LINK_REQUESTS_PER_MINUTE", 300)
SHARE_LINK_PASSWORD_TRIES = envint("SHARE_LINK_PASSWORD_TRIES", 10)

# --- Upstream -------------------------------------------------------------------------
EVOLINK_BASE_URL = os.getenv("EVOLINK_BASE_URL", "https://api.evolink.ai").rstrip("/")
# The zero-setup key: used after every key stored in the database (see billing/).
EVOLINK_API_KEY = os.getenv("EVOLINK_API_KEY", "")
# Fernet keys that encrypt the stored API keys, comma-separated, newest first (see
# playground/billing/crypto.py); empty: one derived from SECRET_KEY.
PLAYGROUND_ENCRYPTION_KEYS = envlist("PLAYGROUND_ENCRYPTION_KEYS", "")
# The origin at which the upstream can reach this server (reference images, callbacks).
PUBLIC_BASE_URL = os.getenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Reference images: where EvoLink downloads them from. "public": signed links under
# PUBLIC_BASE_URL; "files-api": each job uploads them to EvoLink's Files API first.
EVOLINK_REFERENCE_HOST = os.getenv("EVOLINK_REFERENCE_HOST", "public")
EVOLINK_FILES_BASE_URL = os.getenv("EVOLINK_FILES_BASE_URL", "https://files-api.evolink.ai").rstrip(
    "/"
)
# How long a reference link stays valid after the job was submitted (default 7 days).
REFERENCE_URL_MAX_AGE = envint("REFERENCE_URL_MAX_AGE", 7 * 24 * 3600)

# Completion callbacks: "auto" sends a callback_url only when PUBLIC_BASE_URL is public
# HTTPS (EvoLink refuses others); "on" / "off" force it. Its HMAC key defaults to one
# derived from SECRET_KEY.
EVOLINK_CALLBACKS = os.getenv("EVOLINK_CALLBACKS", "auto")
EVOLINK_CALLBACK_KEY = os.getenv("EVOLINK_CALLBACK_KEY", "")

# Uploads: the first handler stops each file past 50 MB; the rest spool to temporary
# files above 2.5 MB, so a 16 × 50 MB request never sits in memory.
FILE_UPLOAD_HANDLERS = [
    "playground.generations.upload_limits.ReferenceSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Files per request: past REFERENCE_UPLOAD_MAX_FILES the first handler skips them and
# the page names them (room for a few too many, so the form can say "at most 16").
# Django's own limit is only a backstop against abuse (it answers a bare 400).
REFERENCE_UPLOAD_MAX_FILES = envint("REFERENCE_UPLOAD_MAX_FILES", 20)
DATA_UPLOAD_MAX_NUMBER_FILES = 1000
# A request stops working on its files after this many seconds (far below gunicorn's
# 30 s timeout) and names those it left.
REFERENCE_UPLOAD_REQUEST_SECONDS = float(os.getenv("REFERENCE_UPLOAD_REQUEST_SECONDS", "15"))
# Per-person storage for uploaded references; unused uploads are deleted after a day.
REFERENCE_QUOTA_MB = envint("REFERENCE_QUOTA_MB", 500)

# --- Background jobs (django-q2) ------------------------------------------------------
# The row is the truth, so django-q2 must never re-run a failed task on its own
# (max_attempts=1, ack_failures=True: with its defaults the ORM broker re-runs a task
# that raised every `retry` seconds, forever), and `retry` must exceed `timeout` so a
# slow task is not started a second time.
REDIS_URL = os.getenv("REDIS_URL", "")
Q_CLUSTER = {
    "name": "playground",
    "workers": envint("Q_WORKERS", 2),
    "timeout": 120,
    "retry": 300,
    "max_attempts": 1,
    "ack_failures": True,
    "queue_limit": 4,
    "catch_up": False,
    "recycle": 200,
    "save_limit": 1000,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Django's cache holds short-lived counters (password-reset throttling): in Redis when
# there is one, so every web process shares them; in each process's memory otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "playground",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "playground",
        }
    }

# Polling cadence (EvoLink asks for a first read after ~3 s, then every 3-5 s) and the
# local deadline after which we stop waiting; tests and benchmarks shorten them.
# Offer models EvoLink took offline (catalogue `withdrawn_on`, e.g. gpt-image-1) in the
# forms anyway; a superuser's switch on the keys page overrides this per model.
PLAYGROUND_OFFER_WITHDRAWN_MODELS = envbool("PLAYGROUND_OFFER_WITHDRAWN_MODELS")
PLAYGROUND_FIRST_POLL_SECONDS = float(os.getenv("PLAYGROUND_FIRST_POLL_SECONDS", "3"))
PLAYGROUND_POLL_SECONDS = float(os.getenv("PLAYGROUND_POLL_SECONDS", "3"))
PLAYGROUND_POLL_DEADLINE_SECONDS = float(os.getenv("PLAYGROUND_POLL_DEADLINE_SECONDS", "1800"))
PLAYGROUND_POLLER_TICK_SECONDS = float(os.getenv("PLAYGROUND_POLLER_TICK_SECONDS", "0.25"))
# Creates (POSTs to EvoLink) in flight at once in the process that holds the submitter's
# lease, and per key; the most creates started per second per key (0: no cap); how long
# a new job may wait before the submitter looks (playground/generations/submitter.py).
PLAYGROUND_CREATES_IN_FLIGHT = envint("PLAYGROUND_CREATES_IN_FLIGHT", 24)
PLAYGROUND_CREATES_IN_FLIGHT_PER_KEY = envint("PLAYGROUND_CREATES_IN_FLIGHT_PER_KEY", 24)
PLAYGROUND_CREATES_PER_SECOND_PER_KEY = float(
    os.getenv("PLAYGROUND_CREATES_PER_SECOND_PER_KEY", "40")
)
PLAYGROUND_SUBMITTER_TICK_SECONDS = float(os.getenv("PLAYGROUND_SUBMITTER_TICK_SECONDS", "0.25"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}},
}
