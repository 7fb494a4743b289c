from django.urls import path

from apps.onboarding.client_templates import views

app_name = "client_templates"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:key>/", views.detail, name="detail"),
    path("<slug:key>/versions/<int:number>/", views.version, name="version"),
    path("<slug:key>/apply/", views.apply_to_client, name="apply"),
]
