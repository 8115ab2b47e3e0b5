"""Django settings for Rapport. Everything configurable comes from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
from django.utils.csp import CSP

from rapport import config

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()

SECRET_KEY = config.secret_key(DATA_DIR)
DEBUG = config.env_bool("DEBUG", default=False)
ALLOWED_HOSTS = config.env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list("CSRF_TRUSTED_ORIGINS", [])
# Where users reach Rapport; used in e-mails and calendar feeds.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "rapport.users",
    "rapport.core",
    "rapport.web",
    "rapport.search",
    "rapport.customers",
    "rapport.interactions",
    "rapport.catalog",
    "rapport.trading",
    "rapport.reminders",
    "rapport.insights",
    "rapport.sales",
    "rapport.service",
    "rapport.satisfaction",
    "rapport.marketing",
    "rapport.dataio",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "simple_history",
    "axes",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.web.context_processors.shell",
            ],
        },
    },
]

DATABASES = {"default": config.database_config(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Sessions and CSRF: cookies are Secure, HttpOnly (session) and SameSite.
# Browsers accept Secure cookies from http://localhost and http://127.0.0.1,
# so `make run` works without TLS; set SECURE_COOKIES=false only for a
# plain-HTTP deployment on another host name (not recommended).
SESSION_COOKIE_SECURE = config.env_bool("SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_NAME = "rapport_session"
CSRF_COOKIE_NAME = "rapport_csrftoken"
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# HTTPS=true when Rapport runs behind TLS (directly or through a proxy).
HTTPS = config.env_bool("HTTPS", default=False)
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = config.env_int("HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = config.env_bool("HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preload lists are an opt-in (HSTS_PRELOAD=true), not a deployment warning.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Failed logins are throttled per user name and address (django-axes).
AXES_FAILURE_LIMIT = config.env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=config.env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "users/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# Failures for Ada@Example.com and ada@example.com count together.
AXES_USERNAME_CALLABLE = "rapport.users.authentication.login_username"
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = config.env_int("TRUSTED_PROXY_COUNT", 0)

MAILERS, EMAIL_CONFIGURED = config.mailers()
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Rapport <rapport@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

REDIS_URL = config.redis_url()
HUEY: dict[str, object]
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "rapport",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": config.env_int("WORKER_THREADS", 2), "worker_type": "thread"},
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "rapport",
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": False,
        "consumer": {"workers": config.env_int("WORKER_THREADS", 2), "worker_type": "thread"},
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "rapport",
        }
    }

# Customer insights: CLV over INSIGHTS_HORIZON_MONTHS at a monthly discount rate,
# as margin (share of revenue that is profit); "valuable and at risk" thresholds.
INSIGHTS = {
    "horizon_months": config.env_int("INSIGHTS_HORIZON_MONTHS", 12),
    "monthly_discount_rate": config.env_float("INSIGHTS_MONTHLY_DISCOUNT_RATE", 0.01),
    "margin": config.env_float("INSIGHTS_MARGIN", 1.0),
    "valuable_percentile": config.env_float("INSIGHTS_VALUABLE_PERCENTILE", 80.0),
    "at_risk_churn": config.env_float("INSIGHTS_AT_RISK_CHURN", 0.5),
    "fit_sample": config.env_int("INSIGHTS_FIT_SAMPLE", 10_000),
}
# Share of business: a contacts' number custom field with their estimated annual
# spend in our category; recent spend is divided by it.
INSIGHTS_WALLET_FIELD = os.environ.get("INSIGHTS_WALLET_FIELD", "estimated_annual_spend")

# Imports: the largest file accepted, the most columns in a row, rows per
# all-or-nothing batch, and the encoding chosen when single-byte ones tie.
DATAIO_MAX_FILE_BYTES = config.env_int("DATAIO_MAX_FILE_BYTES", 200 * 1024 * 1024)
DATAIO_MAX_COLUMNS = config.env_int("DATAIO_MAX_COLUMNS", 500)
DATAIO_BATCH_SIZE = config.env_int("DATAIO_BATCH_SIZE", 5000)
DATAIO_FALLBACK_ENCODING = os.environ.get("DATAIO_FALLBACK_ENCODING", "cp1252")
# "Export everything": days a ZIP is kept, and where (default: DATA_DIR / "exports").
DATAIO_EXPORT_KEEP_DAYS = config.env_int("DATAIO_EXPORT_KEEP_DAYS", 7)
DATAIO_EXPORT_DIR = os.environ.get("DATAIO_EXPORT_DIR", "")

# Duplicates: pairs scoring at least DUPLICATE_THRESHOLD (0 to 1) enter the review
# queue; a blocking key shared by more than DUPLICATE_MAX_BLOCK records is skipped.
DUPLICATE_THRESHOLD = config.env_float("DUPLICATE_THRESHOLD", 0.70)
DUPLICATE_MAX_BLOCK = config.env_int("DUPLICATE_MAX_BLOCK", 40)

# An open deal with no change, move or next step for this many days is flagged stale.
SALES_STALE_DAYS = config.env_int("SALES_STALE_DAYS", 14)

# Service desk e-mail: `rapport mail-in` listens here (put it behind your MX), refuses
# messages and attachments over these sizes; replies come from SERVICE_REPLY_FROM.
SERVICE_MAIL_IN_HOST = os.environ.get("SERVICE_MAIL_IN_HOST", "127.0.0.1")
SERVICE_MAIL_IN_PORT = config.env_int("SERVICE_MAIL_IN_PORT", 2525)
SERVICE_MAIL_MAX_BYTES = config.env_int("SERVICE_MAIL_MAX_BYTES", 25 * 1024 * 1024)
SERVICE_ATTACHMENT_MAX_BYTES = config.env_int("SERVICE_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
SERVICE_REPLY_FROM = os.environ.get("SERVICE_REPLY_FROM", "") or DEFAULT_FROM_EMAIL
SERVICE_SEND_ATTEMPTS = config.env_int("SERVICE_SEND_ATTEMPTS", 5)

# Campaign sending: messages per minute per campaign, messages per job, tries of a
# message the SMTP server defers, and how long a claimed message may stay unsent.
MARKETING_RATE_PER_MINUTE = config.env_int("MARKETING_RATE_PER_MINUTE", 120)
MARKETING_BATCH_SIZE = config.env_int("MARKETING_BATCH_SIZE", 50)
MARKETING_MAX_ATTEMPTS = config.env_int("MARKETING_MAX_ATTEMPTS", 3)
MARKETING_CLAIM_LEASE_MINUTES = config.env_int("MARKETING_CLAIM_LEASE_MINUTES", 15)

# Automation webhooks go to https addresses only, unless this allows plain http.
AUTOMATION_WEBHOOK_ALLOW_HTTP = config.env_bool("AUTOMATION_WEBHOOK_ALLOW_HTTP", False)
# Outgoing webhooks: attempts per delivery before it is marked failed (1, 2, 4, 8...
# minutes apart). AUTOMATION_WEBHOOK_ALLOW_HTTP also allows private/loopback addresses.
WEBHOOK_MAX_ATTEMPTS = config.env_int("WEBHOOK_MAX_ATTEMPTS", 6)

# Survey triggers (after a delivery or a resolved ticket) look this many days past a
# survey's delay, so turning a trigger on does not mail old history.
SATISFACTION_TRIGGER_WINDOW_DAYS = config.env_int("SATISFACTION_TRIGGER_WINDOW_DAYS", 7)

# Customers are e-mailed about a service (warranty end...) this many days before it is due.
SERVICE_REMINDER_DAYS_AHEAD = config.env_int("SERVICE_REMINDER_DAYS_AHEAD", 30)

# Amounts without a currency are in this one; phone numbers without +country
# are read as numbers of PHONE_REGION (ISO 3166 code such as DE), if set.
BASE_CURRENCY = os.environ.get("BASE_CURRENCY", "EUR").upper()
PHONE_REGION = os.environ.get("PHONE_REGION", "").upper() or None

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Plotly's JavaScript comes from the installed Python package: no CDN, works offline.
STATICFILES_DIRS = [("plotly", config.package_dir("plotly", "package_data"))]
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rapport.users.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rapport.core.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rapport.core.api.pagination.KeysetPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rapport.core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("API_RATE", "6000/minute")},
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": (
        "REST API of Rapport, the self-hosted CRM. Authenticate with a personal API token "
        "from Settings → API tokens: `Authorization: Bearer <token>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "LifecycleStageEnum": "rapport.customers.choices.LifecycleStage",
        "RoleEnum": "rapport.core.permissions.Role",
        "ConsentChannelEnum": "rapport.customers.choices.ConsentChannel",
        "InteractionChannelEnum": "rapport.interactions.choices.Channel",
        "DuplicateKindEnum": "rapport.dataio.models.DuplicateKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True
