"""The MSP portal, served on the base domain (the public schema)."""

from django.contrib import admin
from django.urls import include, path

from apps.accounts import handoff
from apps.chat.surfaces.slack import views as slack_views
from apps.chat.surfaces.teams import views as teams
from apps.insights import views_costs
from apps.observability import views as observability
from apps.onboarding import views_m365_partner as m365_partner
from apps.onboarding import views_ninjaone as ninjaone_mapping
from apps.portal import onboard_client
from apps.portal import views as portal

urlpatterns = [
    path("", portal.home, name="portal_home"),
    path("attention/", portal.attention, name="portal_attention"),  # the queue, filtered (MSP staff)
    path("attention/act/", portal.act, name="portal_attention_act"),  # bulk acknowledge / snooze / retry
    path("clients/new/", onboard_client.new_client, name="portal_new_client"),
    path("status/", observability.status_page, name="portal_status"),  # MSP staff: every client's health (OBS-4)
    path("anomalies/", observability.anomalies_page, name="portal_anomalies"),  # MSP staff: cross-client (MSP-11)
    path("templates/", include("apps.onboarding.client_templates.urls")),  # MSP staff: onboarding templates (MSP-8)
    path("costs/", views_costs.costs_page, name="portal_costs"),  # MSP staff: model spend, plans, quotas (MSP-10)
    path("costs/export.csv", views_costs.costs_csv, name="portal_costs_csv"),
    path("costs/clients/<slug:slug>/plan/", views_costs.save_plan, name="portal_client_plan"),
    # MSP staff: every client's Microsoft 365 tenant through the MSP's partner (GDAP) app (MSP-2)
    path("partners/microsoft365/", m365_partner.page, name="portal_m365_partner"),
    path("partners/microsoft365/customers/", m365_partner.customers, name="portal_m365_partner_customers"),
    path("partners/microsoft365/connect/", m365_partner.connect, name="portal_m365_partner_connect"),
    # MSP staff: NinjaOne organizations onto clients through the MSP's one API client app (MSP-5)
    path("partners/ninjaone/", ninjaone_mapping.page, name="portal_ninjaone"),
    path("partners/ninjaone/organizations/", ninjaone_mapping.organizations, name="portal_ninjaone_organizations"),
    path("partners/ninjaone/connect/", ninjaone_mapping.connect, name="portal_ninjaone_connect"),
    path("accounts/handoff/to/<slug:target>/", handoff.hand_off, name="handoff"),
    path("accounts/handoff/accept/", handoff.accept_hand_off, name="handoff_accept"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("integrations/slack/events/", slack_views.events, name="slack_events"),  # Slack Events API (SRC-4)
    path("integrations/slack/interactions/", slack_views.events, name="slack_interactions"),  # buttons, same app
    path("integrations/slack/oauth/callback/", slack_views.oauth_callback, name="slack_oauth_callback"),
    path("teams/messages", teams.messages, name="teams_messages"),  # the Azure Bot's messaging endpoint (SRC-4)
]
