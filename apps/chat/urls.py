from django.urls import path

from apps.chat import views, views_slack, views_teams, views_widgets

app_name = "chat"
urlpatterns = [
    path("", views.console, name="index"),
    path("review/", views.review_queue, name="review"),
    path("c/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("c/<uuid:conversation_id>/take-over/", views.take_over, name="take_over"),
    path("c/<uuid:conversation_id>/hand-back/", views.hand_back, name="hand_back"),
    path("c/<uuid:conversation_id>/reply/", views.reply, name="reply"),
    path("c/<uuid:conversation_id>/close/", views.close, name="close"),
    path("c/<uuid:conversation_id>/reviewed/", views.reviewed, name="reviewed"),
    path("c/<uuid:conversation_id>/messages/<uuid:message_id>/correct/", views.correct, name="correct"),
    path("c/<uuid:conversation_id>/export.<str:fmt>", views.export, name="export"),
    path("widgets/", views_widgets.widgets, name="widgets"),
    path("widgets/new/", views_widgets.create, name="widget_create"),
    path("widgets/<uuid:widget_id>/", views_widgets.edit, name="widget_edit"),
    path("widgets/<uuid:widget_id>/rotate-secret/", views_widgets.rotate_secret, name="widget_rotate"),
    path("slack/", views_slack.slack_page, name="slack"),
    path("slack/install/", views_slack.slack_install_start, name="slack_install"),
    path("slack/settings/", views_slack.slack_settings, name="slack_settings"),
    path("slack/remove/", views_slack.slack_uninstall, name="slack_uninstall"),
    path("teams/", views_teams.teams_page, name="teams"),
    path("teams/settings/", views_teams.teams_settings, name="teams_settings"),
    path("teams/remove/", views_teams.teams_uninstall, name="teams_uninstall"),
]
