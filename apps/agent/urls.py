from django.urls import path

from apps.agent import views

app_name = "agent"
urlpatterns = [path("", views.investigations, name="investigations")]
