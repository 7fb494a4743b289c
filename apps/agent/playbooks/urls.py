from django.urls import path

from apps.agent.playbooks import views

app_name = "playbooks"
urlpatterns = [
    path("", views.playbook_list, name="list"),
    path("upload/", views.upload, name="upload"),
    path("<str:name>/", views.detail, name="detail"),
    path("<str:name>/toggle/", views.toggle, name="toggle"),
    path("<str:name>/remove/", views.remove, name="remove"),
]
