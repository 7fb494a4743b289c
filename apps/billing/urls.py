from django.urls import path

from apps.billing import views

app_name = "billing"

urlpatterns = [
    path("rules/", views.rules, name="rules"),
    path("rules/save/", views.save_rule, name="save_rule"),
    path("rules/delete/", views.delete_rule, name="delete_rule"),
    path("tickets/<uuid:ticket_id>/time/", views.ticket_time, name="ticket_time"),
    path("tickets/<uuid:ticket_id>/time/<uuid:record_id>/", views.decide_time, name="decide_time"),
]
