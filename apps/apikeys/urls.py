from django.urls import path

from apps.apikeys import views

app_name = "apikeys"
urlpatterns = [
    path("", views.keys, name="keys"),
    path("new/", views.create, name="create"),
    path("<uuid:key_id>/revoke/", views.revoke, name="revoke"),
]
