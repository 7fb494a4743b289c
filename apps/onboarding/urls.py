from django.urls import path

from apps.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("", views.setup, name="setup"),
    path("confirm/<slug:key>/", views.confirm, name="confirm"),
    path("hide/", views.hide, name="hide"),
]
