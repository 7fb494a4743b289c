"""What Gaby is assembled from: its apps, split between the public schema and every client's (django-tenants),
the middleware every request passes through, and the authentication backends and password rules."""

from __future__ import annotations

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "apps.accounts.admin_site.GabyAdminConfig",
    "django.contrib.humanize",
    "django.forms",  # its widget templates, for the project's form renderer (FORM_RENDERER)
    "channels",
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "apps.accounts",
    "apps.auditlog",  # also shared: the public schema keeps the install-level audit chain
    "apps.observability",  # no tables: /metrics, traces and the MSP's /status page read the other apps' rows
    "apps.onboarding.client_templates",  # MSP-8: onboarding templates, shared by every client
    "apps.portal",  # the MSP portal's attention queue and client cards; its marks live in the public schema
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "apps.accounts.admin_site.GabyAdminConfig",
    "apps.tickets",
    "apps.apikeys",
    "apps.knowledge",
    "apps.connectors",
    "apps.auditlog",
    "apps.llm",
    "apps.safety",
    "apps.agent",
    "apps.agent.playbooks",
    "apps.chat",
    "apps.onboarding",
    "apps.insights",
    "apps.billing",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    "gaby_site.health.HealthMiddleware",  # answers probes before host checks
    "apps.observability.middleware.MetricsMiddleware",  # counts requests; answers /metrics before tenant routing
    "apps.core.logging.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files need no client: served before tenant routing, so an unknown host's page still has its CSS.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    "apps.core.edges.EdgeMiddleware",  # a NUL in the URL is refused before any view reads it
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.accounts.access.ClientAccessMiddleware",
    "apps.billing.middleware.TicketWorkClockMiddleware",  # an operator's time on a ticket starts when its page opens
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "apps.accounts.backends.ClientRoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
