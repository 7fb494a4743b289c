from django.urls import path

from apps.agent import views, views_settings, views_ticket

app_name = "agent"
urlpatterns = [
    path("", views.investigations, name="investigations"),
    path("settings/", views_settings.agent_settings, name="settings"),
    path("ticket/<uuid:ticket_id>/start/", views_ticket.investigate_ticket, name="investigate_ticket"),
    path("ticket/<uuid:ticket_id>/panel/", views_ticket.ticket_panel, name="ticket_panel"),
    path("<uuid:investigation_id>/use-reply/", views_ticket.use_reply, name="use_reply"),
    path("<uuid:investigation_id>/discard-draft/", views_ticket.discard_reply, name="discard_draft"),
    path("<uuid:investigation_id>/", views.detail, name="detail"),
    path("<uuid:investigation_id>/outcome/", views.outcome, name="outcome"),
    path("<uuid:investigation_id>/apply/", views.apply_reply, name="apply_reply"),
    path("<uuid:investigation_id>/discard/", views.discard_reply, name="discard_reply"),
    path("<uuid:investigation_id>/rerun/", views.rerun, name="rerun"),
    path("<uuid:investigation_id>/evidence.json", views.evidence, name="evidence"),
]
