from django.urls import path

from apps.safety import views

app_name = "safety"
urlpatterns = [path("", views.approvals, name="approvals")]
