"""Gaby's settings: one module, driven by the environment (see ``.env.example`` and docs/reference/environment.md).

``GABY_ENV`` picks the profile: ``production`` (the default, strict), ``development`` (what the run
command uses) or ``test`` (``settings_test`` layers test overrides on top of this module).

Every environment variable is read here. What depends on none (the app lists, the middleware, the
Content-Security-Policy) and the functions that build the larger settings from what was read (databases,
cache, channel layer, beat schedule, cookie domain) are in ``gaby_site/conf/``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from apps.core.env import (
    celery_broker_url,
    check_redis_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_str,
)
from apps.core.logging import build_logging_config
from apps.core.outbound import allow_list_setting
from gaby_site.conf import apps as _apps
from gaby_site.conf import backends as _backends
from gaby_site.conf import security as _security

# litellm must never fetch its price list from the network at import (air-gapped installs, tests).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

django_stubs_ext.monkeypatch()  # lets code write ModelForm[Client] and the like at run time

BASE_DIR = Path(__file__).resolve().parent.parent

GABY_ENV = env_choice("GABY_ENV", ("production", "development", "test"), "production")
IS_PRODUCTION = GABY_ENV == "production"
DEBUG = env_bool("GABY_DEBUG", default=False)
DATA_DIR = env_path("GABY_DATA_DIR", BASE_DIR / "var")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if IS_PRODUCTION and len(key) < 50:
            raise ImproperlyConfigured("SECRET_KEY is too short for production: use at least 50 random characters.")
        return key
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required in production (GABY_ENV=production): set SECRET_KEY or SECRET_KEY_FILE, "
            "for example to the output of: python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    # Development and tests keep a generated key in the data directory so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()

# --- Hosts, tenancy and routing ----------------------------------------------------------------
BASE_DOMAIN = env_str("GABY_BASE_DOMAIN", "localhost").lower().strip(".")
PUBLIC_PORT = env_int("GABY_PORT", 8000, minimum=1, maximum=65535)
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *env_list("GABY_ALLOWED_HOSTS")]
HTTPS = env_bool("GABY_HTTPS", default=IS_PRODUCTION)
BEHIND_PROXY = env_bool("GABY_BEHIND_PROXY", default=False)

# The apps of the public schema and of every client's schema (the lists: gaby_site/conf/apps.py).
SHARED_APPS = _apps.SHARED_APPS
TENANT_APPS = _apps.TENANT_APPS
INSTALLED_APPS = _apps.INSTALLED_APPS

TENANT_MODEL = "tenants.Client"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "gaby_site.urls_public"
ROOT_URLCONF = "gaby_site.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
DEFAULT_NOT_FOUND_TENANT_VIEW = "gaby_site.unknown_host.unknown_client"
DATABASE_ROUTERS = ["tenants.routers.OwnerMigrationRouter", "django_tenants.routers.TenantSyncRouter"]
# Issue `SET search_path` once per connection and tenant switch, not before every cursor (django-tenants'
# default): about half of all queries otherwise. The backend forgets the setting on set_tenant, close, rollback
# and savepoint rollback (a rolled-back SET is undone by PostgreSQL), so the next cursor sets it again.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = _apps.MIDDLEWARE

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
                "apps.accounts.context.shell",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

FORM_RENDERER = "apps.core.forms.FormRenderer"

WSGI_APPLICATION = "gaby_site.wsgi.application"
ASGI_APPLICATION = "gaby_site.asgi.application"


# --- Database and Redis -------------------------------------------------------------------------
# Settings only read configuration: `./gaby run|test|manage|bench` start the embedded servers and
# pass their URLs; anything else (compose, Helm, systemd) gives its own.
def _required_url(name: str) -> str:
    value = env_str(name)
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Point it at your server, or run Gaby through ./gaby (run, test, manage, "
            "bench), which starts the embedded PostgreSQL and Redis and sets it for you."
        )
    return value


# DATABASE_URL is the role every request, task and consumer connects as. GABY_DB_OWNER_URL, when
# set, is the role that owns the tables: migrations and new client schemas run as it, and after each
# migration it grants the application role rows but not the audit table's (tenants/db_privileges.py).
_conn_max_age = env_int("GABY_DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES = {"default": _backends.database("DATABASE_URL", _required_url("DATABASE_URL"), conn_max_age=_conn_max_age)}
if _owner_url := env_str("GABY_DB_OWNER_URL"):
    DATABASES["owner"] = _backends.database("GABY_DB_OWNER_URL", _owner_url, conn_max_age=_conn_max_age)
    if DATABASES["owner"]["NAME"] != DATABASES["default"]["NAME"]:
        raise ImproperlyConfigured("GABY_DB_OWNER_URL must name the same database as DATABASE_URL.")
    DATABASES["owner"]["TEST"] = {"MIRROR": "default"}
DB_OWNER_ALIAS = "owner" if "owner" in DATABASES else "default"
# A new client's schema is a copy of a migrated template schema (tenants/schema_clone.py), not ~80 migrations run.
CLIENT_SCHEMA_FROM_TEMPLATE = env_bool("GABY_CLIENT_SCHEMA_FROM_TEMPLATE", default=True)
# `gaby upgrade` migrates client schemas in this many forked processes (tenants/schema_migrations.py): Django's
# migration state rendering is CPU-bound Python, so one per core. 1 migrates them one by one in the command's own.
MIGRATION_PROCESSES = env_int("GABY_MIGRATION_PROCESSES", default=min(4, os.cpu_count() or 1), minimum=1, maximum=32)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = check_redis_url("REDIS_URL", _required_url("REDIS_URL"))
REDIS_KEY_PREFIX = env_str("GABY_REDIS_PREFIX", "gaby")

CACHES = _backends.caches(REDIS_URL, REDIS_KEY_PREFIX)
CHANNEL_LAYERS = _backends.channel_layers(REDIS_URL, REDIS_KEY_PREFIX)

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:"}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CONNECTOR_HEALTH_INTERVAL = env_int("GABY_CONNECTOR_HEALTH_INTERVAL_S", 300, minimum=10)
# A portal page reads the attention queue's items afresh from every client when beat's copy is older than this.
PORTAL_ATTENTION_STALE_SECONDS = env_int("GABY_PORTAL_ATTENTION_STALE_S", 60, minimum=1)
# Every periodic job of every app, in one place (gaby_site/conf/backends.py).
CELERY_BEAT_SCHEDULE = _backends.beat_schedule(connector_health_interval=CONNECTOR_HEALTH_INTERVAL)

# --- Accounts -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = _apps.AUTHENTICATION_BACKENDS
AUTH_PASSWORD_VALIDATORS = _apps.AUTH_PASSWORD_VALIDATORS
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "apps.accounts.mfa_adapter.MFAAdapter"  # TOTP secrets and recovery seeds sealed at rest
MFA_TOTP_ISSUER = "Gaby"

# One login for the portal and every client subdomain where browsers allow it (see cookie_domain).
SESSION_COOKIE_DOMAIN = _security.cookie_domain(env_str("GABY_COOKIE_DOMAIN"), BASE_DOMAIN)
CSRF_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
SESSION_COOKIE_NAME = "gaby_session"
CSRF_COOKIE_NAME = "gaby_csrftoken"
SESSION_COOKIE_AGE = env_int("GABY_SESSION_AGE", 14 * 24 * 3600, minimum=300)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = _security.csrf_trusted_origins(BASE_DOMAIN, https=HTTPS, port=PUBLIC_PORT)

# --- Security behind TLS ------------------------------------------------------------------------
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("GABY_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
SECURE_HSTS_SECONDS = env_int("GABY_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("GABY_HSTS_PRELOAD", default=False)
# Submitting a domain to the browsers' HSTS preload list is the operator's call (it is hard to undo),
# so the deploy check's reminder about it is silenced; GABY_HSTS_PRELOAD=true opts in.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): Gaby's own scripts, styles and sockets only; never framed (see there).
CONTENT_SECURITY_POLICY = _security.CONTENT_SECURITY_POLICY
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# --- Email --------------------------------------------------------------------------------------
_email_backend = env_choice("GABY_EMAIL_BACKEND", ("console", "smtp"), "smtp" if IS_PRODUCTION else "console")
EMAIL_BACKEND = f"django.core.mail.backends.{_email_backend}.EmailBackend"
EMAIL_HOST = env_str("GABY_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("GABY_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("GABY_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("GABY_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("GABY_EMAIL_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("GABY_EMAIL_FROM", f"Gaby <gaby@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Static files, i18n -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = DATA_DIR / "media"
# Attachments and uploads hold customers' documents: readable by Gaby's own user only, not by every local account.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start without it
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("GABY_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Logging (OBS-3: structured JSON to stdout) --------------------------------------------------
LOG_LEVEL = env_choice("GABY_LOG_LEVEL", ("debug", "info", "warning", "error"), "info").upper()
LOG_FORMAT = env_choice("GABY_LOG_FORMAT", ("json", "console"), "json")
LOGGING_CONFIG = None
LOGGING = build_logging_config(LOG_LEVEL, LOG_FORMAT)

# --- Health -------------------------------------------------------------------------------------
READY_WORKER_TIMEOUT = env_int("GABY_READY_WORKER_TIMEOUT_MS", 1500, minimum=100) / 1000

# --- Observability (apps.observability: docs/operations/metrics.md, tracing.md, status.md) ----------
# /metrics: open in development and tests; in production closed until a bearer token or allowed networks are set
# (with both, a scrape needs both).
METRICS_TOKEN = env_str("GABY_METRICS_TOKEN")
try:
    METRICS_ALLOW = [ipaddress.ip_network(net, strict=False) for net in env_list("GABY_METRICS_ALLOW")]
except ValueError as exc:
    raise ImproperlyConfigured(f"GABY_METRICS_ALLOW: {exc}. List networks like 10.0.0.0/8,192.168.1.5.") from None
# Per-client labels on counters (client=<schema>); off folds every client into client="all" (many clients).
METRICS_CLIENT_LABELS = env_bool("GABY_METRICS_CLIENT_LABELS", default=True)
# A Celery worker serves its own counters on this port (0: off) where it runs apart from the web (Kubernetes).
METRICS_WORKER_PORT = env_int("GABY_WORKER_METRICS_PORT", 0, minimum=0, maximum=65535)
# Traces: on when an OTLP endpoint is given (the SDK reads OTEL_EXPORTER_OTLP_* itself), or GABY_OTEL_ENABLED.
OTEL_ENABLED = env_bool(
    "GABY_OTEL_ENABLED",
    default=bool(env_str("OTEL_EXPORTER_OTLP_ENDPOINT") or env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
)
OTEL_EXPORTER = env_choice("GABY_OTEL_EXPORTER", ("otlp", "console"), "otlp")
OTEL_SERVICE_NAME = env_str("OTEL_SERVICE_NAME", "gaby")

# --- Connectors (CON-1..CON-6) ------------------------------------------------------------------
# Per call: how long Gaby waits for an MCP server, and how much of its answer it keeps.
CONNECTOR_CALL_TIMEOUT = env_int("GABY_CONNECTOR_CALL_TIMEOUT_S", 30, minimum=1, maximum=600)
CONNECTOR_CONNECT_TIMEOUT = env_int("GABY_CONNECTOR_CONNECT_TIMEOUT_S", 30, minimum=1, maximum=600)
CONNECTOR_MAX_CONCURRENCY = env_int("GABY_CONNECTOR_MAX_CONCURRENCY", 4, minimum=1, maximum=256)
CONNECTOR_MAX_RESULT_CHARS = env_int("GABY_CONNECTOR_MAX_RESULT_CHARS", 100_000, minimum=1000)
# Sessions kept open per worker process, and the restart backoff for a server that keeps dying.
CONNECTOR_MAX_SESSIONS = env_int("GABY_CONNECTOR_MAX_SESSIONS", 64, minimum=1)
CONNECTOR_RESTART_BACKOFF_BASE = env_int("GABY_CONNECTOR_BACKOFF_MS", 1000, minimum=0) / 1000
CONNECTOR_RESTART_BACKOFF_MAX = env_int("GABY_CONNECTOR_BACKOFF_MAX_S", 60, minimum=1)
# Which commands a client's Admin may start as stdio MCP servers (glob patterns on the executable's
# name); MSP staff may start any command. Everything else needs an MSP staff member to add it.
CONNECTOR_STDIO_COMMANDS = env_list("GABY_CONNECTOR_STDIO_COMMANDS", ["mcp-server-*"])
# (The health checks' interval, GABY_CONNECTOR_HEALTH_INTERVAL_S, is read with the beat schedule above.)
# --- Outbound URLs (apps/core/outbound.py, docs/safety/outbound-urls.md) ---------------------------------
# Crawls, git remotes, webhooks, the OpenAPI connector and LLM base URLs never reach loopback, link-local, private
# or metadata addresses, except the ranges and host names listed here by the install's operators. Development and
# tests add loopback (the demo's and the tests' local servers); production adds nothing.
try:
    OUTBOUND_ALLOW = allow_list_setting(env_list("GABY_OUTBOUND_ALLOW"), loopback=GABY_ENV != "production")
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# --- Outbound webhooks and API keys (apps.tickets) -----------------------------------------------
# A failed delivery is retried after base, 2*base, 4*base ... seconds (at most 6 h apart), up to the max attempts.
TICKETS_WEBHOOK_RETRY_BASE_SECONDS = env_int("GABY_WEBHOOK_RETRY_BASE_S", 30, minimum=0)
TICKETS_WEBHOOK_MAX_ATTEMPTS = env_int("GABY_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=30)
TICKETS_WEBHOOK_TIMEOUT_SECONDS = env_int("GABY_WEBHOOK_TIMEOUT_S", 10, minimum=1, maximum=120)
# Help-desk attachments larger than this are not downloaded (the message is kept, with the reason).
TICKETS_ATTACHMENT_MAX_BYTES = env_int("GABY_ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
# Retries of a status/priority/tags/assignee push to a help desk before it is marked failed on the ticket.
TICKETS_PUSH_MAX_RETRIES = env_int("GABY_PUSH_MAX_RETRIES", 8, minimum=0, maximum=30)
# --- Knowledge base (apps.knowledge) -------------------------------------------------------------
# Embeddings: "local" (bundled MiniLM, offline) or "none" (full-text search only).
KNOWLEDGE_EMBEDDINGS = env_choice("GABY_KB_EMBEDDINGS", ("local", "none"), "local")
KNOWLEDGE_EMBEDDING_BATCH = env_int("GABY_KB_EMBEDDING_BATCH", 64, minimum=1, maximum=4096)
# PostgreSQL text search configuration used to index and to query (changing it needs a re-sync).
KNOWLEDGE_SEARCH_CONFIG = env_str("GABY_KB_SEARCH_CONFIG", "english")
KNOWLEDGE_CHUNK_TOKENS = env_int("GABY_KB_CHUNK_TOKENS", 200, minimum=32, maximum=2000)
KNOWLEDGE_STALE_DAYS = env_int("GABY_KB_STALE_DAYS", 182, minimum=1)
KNOWLEDGE_DUPLICATE_SIMILARITY = env_int("GABY_KB_DUPLICATE_PERCENT", 95, minimum=50, maximum=100) / 100
KNOWLEDGE_CANDIDATE_DAYS = env_int("GABY_KB_CANDIDATE_DAYS", 30, minimum=1)
KNOWLEDGE_MAX_FILE_BYTES = env_int("GABY_KB_MAX_FILE_MB", 20, minimum=1) * 1024 * 1024
KNOWLEDGE_GIT_DIR = DATA_DIR / "knowledge" / "git"

# --- Investigations (apps.agent) -----------------------------------------------------------------
# Investigate every new inbound ticket (each client can still turn it off); off by default in tests.
AGENT_AUTO_INVESTIGATE = env_bool("GABY_AUTO_INVESTIGATE", default=GABY_ENV != "test")
# A running investigation's heartbeat lease: a redelivered task takes over once it is this stale.
AGENT_LEASE_SECONDS = env_int("GABY_INVESTIGATION_LEASE_S", 30, minimum=1)
# How many workers may start one investigation before it fails cleanly.
AGENT_MAX_ATTEMPTS = env_int("GABY_INVESTIGATION_MAX_ATTEMPTS", 3, minimum=1)
# The beat sweep fails running investigations silent this long, and queued ones never picked up.
AGENT_STUCK_AFTER_SECONDS = env_int("GABY_INVESTIGATION_STUCK_S", 600, minimum=10)
AGENT_QUEUED_TIMEOUT_SECONDS = env_int("GABY_INVESTIGATION_QUEUED_TIMEOUT_S", 3600, minimum=60)

# --- Chat widget (apps.chat: SRC-3, §8) -----------------------------------------------------------
# The longest message a visitor may send, and how many per minute per conversation and per IP address.
CHAT_MAX_MESSAGE_CHARS = env_int("GABY_CHAT_MAX_MESSAGE_CHARS", 2000, minimum=100, maximum=20000)
CHAT_SESSION_MESSAGES_PER_MINUTE = env_int("GABY_CHAT_SESSION_MESSAGES_PER_MINUTE", 20, minimum=1)
CHAT_IP_MESSAGES_PER_MINUTE = env_int("GABY_CHAT_IP_MESSAGES_PER_MINUTE", 120, minimum=1)
CHAT_IP_CONNECTIONS_PER_MINUTE = env_int("GABY_CHAT_IP_CONNECTIONS_PER_MINUTE", 60, minimum=1)
# A conversation Gaby was answering closes after this long without a message (the visitor left).
CHAT_IDLE_CLOSE_MINUTES = env_int("GABY_CHAT_IDLE_CLOSE_MINUTES", 30, minimum=5)
# A knowledge answer is given only at or above this confidence (0-100); below it Gaby offers a person.
CHAT_MIN_CONFIDENCE = env_int("GABY_CHAT_MIN_CONFIDENCE_PERCENT", 50, minimum=0, maximum=100) / 100
# An operator console that has not been heard from for this long no longer counts as someone online.
CHAT_PRESENCE_SECONDS = env_int("GABY_CHAT_PRESENCE_SECONDS", 90, minimum=10)
# Threads for the widget sockets' synchronous work (database, retrieval, the model's stream): how many answers can be
# written at once in one web process, and at most that many database connections (keep under PostgreSQL's limit).
CHAT_THREADS = env_int("GABY_CHAT_THREADS", 32, minimum=2, maximum=512)

# --- Slack app (apps/chat/surfaces/slack: SRC-4, FND-7) -------------------------------------------------------
# The MSP's own Slack app (api.slack.com/apps): its OAuth client and the secret Slack signs events with.
# Each accepts *_FILE. Empty: the Slack install is not offered and the events URL refuses every request.
SLACK_CLIENT_ID = env_str("GABY_SLACK_CLIENT_ID", "")
SLACK_CLIENT_SECRET = env_str("GABY_SLACK_CLIENT_SECRET", "")
SLACK_SIGNING_SECRET = env_str("GABY_SLACK_SIGNING_SECRET", "")
# The Web API's base URL: Slack's, or a stand-in's (sandbox/slack.py) for the demo and the tests.
SLACK_API_URL = env_str("GABY_SLACK_API_URL", "https://slack.com/api/")
SLACK_OAUTH_AUTHORIZE_URL = env_str("GABY_SLACK_OAUTH_AUTHORIZE_URL", "https://slack.com/oauth/v2/authorize")
# --- Microsoft Teams (apps.chat.surfaces.teams: SRC-4) -------------------------------------------
# The Azure Bot's Entra app registration (Microsoft App ID and a client secret); empty: Teams is off.
TEAMS_APP_ID = env_str("GABY_TEAMS_APP_ID")
TEAMS_APP_PASSWORD = env_str("GABY_TEAMS_APP_PASSWORD")
# The app registration's tenant: a single-tenant bot (what Azure creates since July 2025) gives the MSP's own tenant
# id; a legacy multi-tenant bot keeps botframework.com. Its tokens come from that tenant's token endpoint.
TEAMS_APP_TENANT_ID = env_str("GABY_TEAMS_APP_TENANT_ID", "botframework.com")
TEAMS_TOKEN_URL = env_str(
    "GABY_TEAMS_TOKEN_URL", f"https://login.microsoftonline.com/{TEAMS_APP_TENANT_ID}/oauth2/v2.0/token"
)
# Empty: the channel's keys come from Microsoft (login.botframework.com); set for another channel, e.g. the stand-in.
TEAMS_OPENID_METADATA_URL = env_str("GABY_TEAMS_OPENID_METADATA_URL")
TEAMS_ISSUERS = env_list("GABY_TEAMS_ISSUERS", ["https://api.botframework.com"])
# Replies go only to Microsoft's Bot Connector hosts over https (the SDK's OutboundHostValidator); off for a stand-in.
TEAMS_CHECK_SERVICE_HOSTS = env_bool("GABY_TEAMS_CHECK_SERVICE_HOSTS", default=True)
# Where the app manifest's icons come from (PNG files, 192x192 colour and 32x32 outline); empty: generated.
TEAMS_ICON_COLOR = env_str("GABY_TEAMS_ICON_COLOR")
TEAMS_ICON_OUTLINE = env_str("GABY_TEAMS_ICON_OUTLINE")
# Where proactive replies go: Microsoft's documented global Bot Connector URL for Teams (public cloud).
TEAMS_SERVICE_URL = env_str("GABY_TEAMS_SERVICE_URL", "https://smba.trafficmanager.net/teams/")
