from django.urls import path

from apps.accounts import views_settings

app_name = "accounts"
urlpatterns = [
    path("", views_settings.settings_page, name="settings"),
    path("client/", views_settings.update_client, name="update_client"),
    path("members/", views_settings.add_member, name="add_member"),
    path("members/<uuid:membership_id>/role/", views_settings.change_member_role, name="change_role"),
    path("members/<uuid:membership_id>/remove/", views_settings.remove_member, name="remove_member"),
]
