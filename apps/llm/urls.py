from django.urls import path

from apps.llm import views, views_calls

app_name = "llm"
urlpatterns = [
    path("", views.index, name="index"),
    path("providers/new/", views.provider_new, name="provider_new"),
    path("providers/<uuid:provider_id>/", views.provider_edit, name="provider_edit"),
    path("providers/<uuid:provider_id>/enabled/", views.provider_enabled, name="provider_enabled"),
    path("routes/", views.route_save, name="route_save"),
    path("routes/<slug:workflow>/edit/", views.route_edit, name="route_edit"),
    path("routes/<slug:workflow>/clear/", views.route_clear, name="route_clear"),
    path("calls/", views_calls.calls, name="calls"),
    path("calls/<uuid:call_id>/", views_calls.call_detail, name="call_detail"),
]
