from django.urls import path

from apps.tickets import views

app_name = "tickets"
urlpatterns = [path("", views.inbox, name="inbox")]
