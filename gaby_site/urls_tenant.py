"""A client's operator pages, served on ``<client>.<base domain>`` inside that client's schema.

The Django admin is not mounted here: a client's Admins edit their configuration through these pages, whose services
check roles and write the audit chain; the admin is the MSP staff's, on the portal (gaby_site/urls_public.py)."""

from django.urls import include, path
from django.views.generic import RedirectView

from apps.accounts import handoff
from gaby_site.api import api_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tickets:inbox", permanent=False), name="client_home"),
    path("inbox/", include("apps.tickets.urls")),
    path("investigations/", include("apps.agent.urls")),
    path("playbooks/", include("apps.agent.playbooks.urls")),
    path("knowledge/", include("apps.knowledge.urls")),
    path("connectors/", include("apps.connectors.urls")),
    path("models/", include("apps.llm.urls")),
    path("", include("apps.safety.urls")),
    path("chat/", include("apps.chat.urls")),
    path("setup/", include("apps.onboarding.urls")),
    path("dashboard/", include("apps.insights.urls")),
    path("settings/api-keys/", include("apps.apikeys.urls")),
    path("billing/", include("apps.billing.urls")),
    path("", include("apps.chat.urls_widget")),
    path("settings/", include("apps.accounts.urls")),
    path("accounts/handoff/to/<slug:target>/", handoff.hand_off, name="handoff"),
    path("accounts/handoff/accept/", handoff.accept_hand_off, name="handoff_accept"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api_urls()),
]
