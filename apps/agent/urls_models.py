from django.urls import path

from apps.agent import views_calls, views_models

app_name = "agent_models"
urlpatterns = [
    path("", views_models.index, name="index"),
    path("providers/new/", views_models.provider_new, name="provider_new"),
    path("providers/<uuid:provider_id>/", views_models.provider_edit, name="provider_edit"),
    path("providers/<uuid:provider_id>/enabled/", views_models.provider_enabled, name="provider_enabled"),
    path("routes/", views_models.route_save, name="route_save"),
    path("routes/<slug:workflow>/edit/", views_models.route_edit, name="route_edit"),
    path("routes/<slug:workflow>/clear/", views_models.route_clear, name="route_clear"),
    path("calls/", views_calls.calls, name="calls"),
    path("calls/<uuid:call_id>/", views_calls.call_detail, name="call_detail"),
]
