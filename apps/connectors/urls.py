from django.urls import path

from apps.connectors import views

app_name = "connectors"
urlpatterns = [path("", views.index, name="index")]
