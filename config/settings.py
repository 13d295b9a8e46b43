"""Sulh settings: one file, every value from the environment (12-factor).

With no DATABASE_URL and no REDIS_URL Sulh runs embedded: SQLite, the in-memory channel layer and
Celery tasks run eagerly, all in one process. With both set it runs the production shape.
"""

import ipaddress
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from django.conf import locale as django_locale
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


env = environ.Env()
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    """A strict boolean: a typo such as DJANGO_DEBUG=flase must not silently mean something."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None


DEBUG = env_bool("DJANGO_DEBUG", True)
# The demo data and its published passwords belong to development only (CONTRACT.md section 2): seed_demo loads
# nothing in production, and a production start refuses to serve while a demo login keeps the published password.
# Its own setting, read once from DJANGO_DEBUG, because test runners switch DEBUG off on their own.
DEMO_DATA_ALLOWED = DEBUG

# A development key is only acceptable while DEBUG is on; production must bring its own.
_DEV_SECRET_KEY = "django-insecure-dev-only-do-not-use-in-production"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")

HOST = env.str("HOST", default="127.0.0.1")
PORT = env_int("PORT", 8000)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# The reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are
# believed (config/proxies.py). Empty: nobody's are, and the connecting peer is the client.
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES: {_proxy!r} is not an address or a network.") from None

INSTALLED_APPS = [
    "daphne",
    # Before django.contrib.auth: its createsuperuser (password validators for --noinput too) replaces Django's.
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rules.apps.AutodiscoverRulesConfig",
    "django_htmx",
    "pgtrigger",
    "django_celery_beat",
    "axes",
    "channels",
    "rosetta",
    "cases",
    "deliberation",
    "reports",
    "audit",
    "devdata",
]

MIDDLEWARE = [
    # First, so that everything after it sees the client's address as resolved from the trusted proxies.
    "config.proxies.client_ip_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy, Permissions-Policy and Cache-Control: no-store (config/headers.py).
    "config.headers.SecurityHeadersMiddleware",
    # WhiteNoise, its files read block by block under ASGI (config.streaming).
    "config.streaming.StaticFilesMiddleware",
    # Pages and API answers compressed (static files come precompressed from WhiteNoise, above, and never reach
    # it). Django's GZip pads each response with random bytes against BREACH (Heal The Breach).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session lifetimes, then the roles that must have a second factor (accounts/middleware.py).
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so that it sees the lockout flag set by the authentication backend.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cases.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The covering indexes (INCLUDE columns) are a PostgreSQL optimisation; SQLite, the embedded default, builds
# the same indexes without them, which is all the demo needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else []
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    # Fail fast instead of hanging a request when the database is unreachable.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
    # Which process a connection belongs to, in pg_stat_activity (the tests end their servers' stragglers by it).
    DATABASES["default"]["OPTIONS"].setdefault("application_name", env.str("SULH_DB_APPLICATION_NAME", "sulh"))
    # Keep connections: opening one per websocket frame cost ~10 ms and capped a live session at ~30 lines a
    # second (bench/bench_fanout.py). Under ASGI every database call of a process runs on the one
    # thread-sensitive thread, so this is one connection per process; health checks drop a dead one.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # A file, not memory, so that a server process started by a test can open the test database.
    # Per process, so that two test runs in one checkout never share it.
    DATABASES["default"].setdefault("TEST", {"NAME": str(BASE_DIR / f"test_db_{os.getpid()}.sqlite3")})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker and results ----------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

# pubsub (the default): an event is one PUBLISH, heard once by each process holding sockets of its session, which
# hands it to them in memory. core: one copy per socket in Redis, each fetched by its own round trip (BZPOPMIN) —
# 100 sessions of 10 at 2 lines/s had a p99 of 1.2-2.4 s on it, against 0.2-0.6 s on pub/sub, on a busy machine
# (bench_fanout --suite many; 77 ms on a quiet one). Either way the layer only carries hints: PostgreSQL and seq
# are the truth, and a socket repairs a gap.
CHANNEL_LAYER_BACKENDS = {
    "pubsub": "config.layers.PubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
CHANNEL_LAYER_BACKEND = env.str("CHANNEL_LAYER_BACKEND", default="pubsub")
if CHANNEL_LAYER_BACKEND not in CHANNEL_LAYER_BACKENDS:
    raise ImproperlyConfigured(f"CHANNEL_LAYER_BACKEND must be pubsub or core; got {CHANNEL_LAYER_BACKEND!r}.")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKENDS[CHANNEL_LAYER_BACKEND],
            "CONFIG": {
                # socket_timeout None: with redis-py 8 the default closes idle websockets every ~5 s
                # (PITFALLS.md; channels_redis #422). The layer only carries hints; PostgreSQL and
                # seq are the truth, but a larger capacity keeps slow readers from dropping them (core only: the
                # pub/sub layer ignores capacity, expiry and group_expiry).
                # max_connections: redis-py's asyncio pool refuses (MaxConnectionsError) past 100 commands
                # in flight, which hundreds of sockets closing at once reach (bench/bench_fanout.py).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        # A Redis that does not answer is noticed in a second, not after the system's TCP timeout.
                        "socket_connect_timeout": 1,
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 2000),
                    }
                ],
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 5000),
                # Two deployments (or two test workers) sharing one Redis keep their groups apart by this.
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
                "expiry": 60,
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY", 7 * 86400),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = True
# A killed worker must not lose the task it held: acknowledge after the run, and give it back to the
# queue when the worker dies. Tasks are therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redelivery of an unacknowledged task waits this long; the default is an hour.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With Redis down, queuing a task gives up within about two seconds (the API answers 503, config/degraded.py)
# instead of retrying for ~20 s: the publish and the result store's reconnection both retry only briefly.
_BRIEF_RETRIES = {"max_retries": 5, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_PUBLISH_RETRY_POLICY = _BRIEF_RETRIES
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": _BRIEF_RETRIES}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
CELERY_RESULT_EXPIRES = 86400
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# The embedded mode runs tasks in the request; keep their state so /api/reports/tasks/{id}/ can answer.
CELERY_TASK_STORE_EAGER_RESULT = EMBEDDED

# --- Regulator summary (reports.patterns) ----------------------------------------------------------
# Events folded per transaction: a killed run loses at most one chunk's work, and each chunk reports progress.
PATTERNS_CHUNK_EVENTS = env_int("PATTERNS_CHUNK_EVENTS", 500_000)
# Events younger than this (seconds) wait for the next run: their transaction, or a neighbour's, may still
# be open (reports/patterns.py explains why).
PATTERNS_SAFETY_LAG = env_int("PATTERNS_SAFETY_LAG", 60)
# How long a run waits for the transactions writing events when it starts, before folding anyway (seconds).
PATTERNS_WRITERS_WAIT = env_int("PATTERNS_WRITERS_WAIT", 300)
# The Celery queue the summary goes to: a deployment may give the long job a worker of its own.
PATTERNS_QUEUE = env.str("PATTERNS_QUEUE", default="celery")

# --- Authentication -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
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

# API tokens (accounts.models.ApiToken) stop working this many days after they were issued.
SULH_TOKEN_TTL = env_int("SULH_TOKEN_TTL", 30)
# Roles that must enrol a second factor (TOTP) before they reach any page or API call: any of administrator,
# facilitator, monitor, regulator, legal_reviewer. Empty by default; production should list at least
# administrator and facilitator (README, "Accounts and two-factor").
SULH_REQUIRE_2FA = env.list("SULH_REQUIRE_2FA", default=[])
_UNKNOWN_ROLES = set(SULH_REQUIRE_2FA) - {"administrator", "facilitator", "monitor", "regulator", "legal_reviewer"}
if _UNKNOWN_ROLES:
    raise ImproperlyConfigured(f"SULH_REQUIRE_2FA names unknown roles: {', '.join(sorted(_UNKNOWN_ROLES))}.")
# A browser session ends after this many minutes without a request, and in any case SESSION_COOKIE_AGE seconds
# after the login (12 hours by default); websocket handshakes follow the same rule.
SULH_SESSION_IDLE_MINUTES = env_int("SULH_SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
# The name the authenticator app shows next to the codes.
OTP_TOTP_ISSUER = env.str("SULH_OTP_ISSUER", default="Sulh")
# Websocket handshakes ask this function who a token belongs to and whether a user may connect (config/ws.py:
# config imports no app).
SULH_WEBSOCKET_AUTH = "accounts.authentication.websocket_auth"

# Password guessing: lock a username (from any address) after a few failures, for a while.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.errors.lockout_response"
AXES_VERBOSE = False  # Its log lines carry usernames: no names in logs.
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# The one client address (X-Forwarded-For only from DJANGO_TRUSTED_PROXIES), as for throttles and logs.
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_ip"

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONBodyParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonThrottle",
        "config.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="6000/minute"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sulh API",
    "DESCRIPTION": "Cases, workflows, escalation ladders and live dialogue sessions of local justice forums.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation's error responses in the one error shape, and the token scheme (config/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.schema.document_errors"],
    # Several choice sets share a field name ("kind", "status", "outcome"); name each one.
    "ENUM_NAME_OVERRIDES": {
        "ForumKindEnum": "cases.models.Forum.Kind",
        "PartyKindEnum": "cases.models.Party.Kind",
        "TermKindEnum": "cases.models.Term.Kind",
        "TransitionKindEnum": "cases.serializers.TRANSITION_KINDS",
        "CaseOutcomeEnum": "cases.models.Outcome",
        "ClosingOutcomeEnum": "cases.serializers.CLOSING_OUTCOMES",
        "AgreementStatusEnum": "cases.models.Agreement.Status",
        "ComplianceStatusEnum": "cases.models.ComplianceCheck.Status",
        "GuaranteeSideEnum": "cases.models.GuaranteeSide",
        "DepositKindEnum": "cases.models.Deposit.Kind",
        "TieKindEnum": "cases.models.TieDeclaration.Kind",
    },
}

# --- Cache (throttling state) --------------------------------------------------------------------
# The cache fails open (config/degraded.py): with Redis down a read is a miss, a write is dropped, and the pages and
# the API keep working from PostgreSQL. Sessions live in PostgreSQL (Django's default database backend), not here.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.degraded.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Languages ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ar", _("Arabic")),
    ("ur", _("Urdu")),
    ("ps", _("Pashto")),
    ("fa-af", _("Dari")),
]
# Pashto is written right to left; Django does not list it, and Dari falls back to Persian ("fa").
LANGUAGES_BIDI = ["he", "ar", "ar-dz", "ckb", "fa", "ug", "ur", "ps"]
django_locale.LANG_INFO.setdefault("ps", {"bidi": True, "code": "ps", "name": "Pashto", "name_local": "پښتو"})
django_locale.LANG_INFO["fa-af"] = {"bidi": True, "code": "fa-af", "name": "Dari", "name_local": "دری"}
LOCALE_PATHS = [BASE_DIR / "locale"]
# Translators fix wording in the browser (django-rosetta at /rosetta/): administrators and the "translators" group;
# Sulh's own catalogs only (not Django's or other packages'); no online suggestions (terms would leave the server).
ROSETTA_ACCESS_CONTROL_FUNCTION = "accounts.services.can_translate"
ROSETTA_EXCLUDED_APPLICATIONS = ["django", "rest_framework", "drf_spectacular", "django_otp", "axes", "rosetta"]
ROSETTA_ENABLE_TRANSLATION_SUGGESTIONS = False
ROSETTA_SHOW_AT_ADMIN_PANEL = True
ROSETTA_LANGUAGES = [(code, name) for code, name in LANGUAGES if code != "en"]
ROSETTA_POFILE_WRAP_WIDTH = 0
ROSETTA_LOGIN_URL = "/login/"
# Day-month-year with month names and a 24-hour clock in English, Urdu and Pashto (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Collected, compressed files with a content hash in their names, cached for a year by browsers (WhiteNoise marks
# them immutable): always in production, and in `make run`'s embedded demo (it collects them first and sets
# SULH_STATIC_HASHED=1), so that a phone on a slow link loads fonts and scripts once. Otherwise (development, tests)
# files are served straight from the apps' folders, without collectstatic, revalidated on every page.
STATIC_HASHED = env_bool("SULH_STATIC_HASHED", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "config.storage.HashedStaticFilesStorage"
            if STATIC_HASHED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_HASHED
WHITENOISE_AUTOREFRESH = not STATIC_HASHED

# --- Security -----------------------------------------------------------------------------------
# The largest request body (files uploaded through a form excepted): a bigger one is a 413 `payload_too_large`.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_MAX_BODY_BYTES", 1024 * 1024)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # The HTMX pages read the token from the cookie.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", False) else None
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG

# --- Encryption at rest (config/crypto.py) ------------------------------------------------------
# Comma-separated Fernet keys, the current one first (older ones decrypt until rotate_encryption_key has run),
# and the key of the keyed hash of party names. Never in the database. Without them both are derived from
# SECRET_KEY (and SECRET_KEY_FALLBACKS, to decrypt); production should set its own. SULH_ENCRYPTION=off stores
# plain text: for bench/bench_encryption.py only, and refused by `check --deploy`.
SULH_ENCRYPTION_KEYS = env.list("SULH_ENCRYPTION_KEYS", default=[])
SULH_HASH_KEY = env.str("SULH_HASH_KEY", default="")
SULH_ENCRYPTION = env_bool("SULH_ENCRYPTION", True)

# --- Logging: no names in logs -------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s ip=%(client_ip)s %(message)s"}},
    # The client's address as resolved from the trusted proxies, or "-" outside a request.
    "filters": {
        "client_ip": {"()": "config.proxies.ClientIPLogFilter"},
        "refused_handshakes": {"()": "config.origins.RefusalLogFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["client_ip"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        # A refused websocket handshake is one line (config.origins, config.ws): uvicorn's own two are dropped.
        "uvicorn.error": {"filters": ["refused_handshakes"]},
    },
}
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"

# Live sessions: every server process holding sockets beats every SULH_HEARTBEAT_SECONDS; a process silent for
# SULH_CONNECTION_TIMEOUT seconds is taken for dead and its sockets' people shown as left
# (deliberation.services.connections_sweep).
SULH_HEARTBEAT_SECONDS = env_int("SULH_HEARTBEAT_SECONDS", 20)
# Database threads per server process for live sessions' actions (deliberation.consumers.session_database).
SULH_SESSION_DB_THREADS = env_int("SULH_SESSION_DB_THREADS", 4)
# … and for websocket handshakes: who is connecting, may they attend, their arrival (config.ws.handshake_database).
SULH_HANDSHAKE_DB_THREADS = env_int("SULH_HANDSHAKE_DB_THREADS", 4)
SULH_CONNECTION_TIMEOUT = env_int("SULH_CONNECTION_TIMEOUT", 60)

# Periodic tasks. django-celery-beat's database scheduler copies these into its tables at start-up,
# where administrators can also pause them.
CELERY_BEAT_SCHEDULE = {
    "review-reminders": {"task": "cases.review_reminders", "schedule": 3600.0},
    "monitor-due-items": {"task": "cases.due_items", "schedule": 3600.0},
    # Nightly, after the day's work: fold the day's events into the regulator summary (reports.patterns). The
    # task lives in reports.tasks and keeps the name it was first queued under.
    "regulator-patterns": {
        "task": "cases.summarise_patterns",
        "schedule": crontab(minute=30, hour=2),
        "options": {"queue": PATTERNS_QUEUE},
    },
}
