from django.urls import path

from apps.connectors import views

app_name = "connectors"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/<slug:kind>/", views.new, name="new"),
    path("new/<slug:kind>/test/", views.test_connection, name="test"),
    path("new/<slug:kind>/save/", views.create, name="create"),
    path("<uuid:connector_id>/", views.detail, name="detail"),
    path("<uuid:connector_id>/refresh/", views.refresh_tools, name="refresh"),
    path("<uuid:connector_id>/check/", views.check_now, name="check"),
    path("<uuid:connector_id>/enabled/", views.set_enabled, name="set_enabled"),
]
