from django.urls import path

from apps.safety import views, views_audit, views_contacts, views_links, views_rules, views_scopes, views_settings

app_name = "safety"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<uuid:action_id>/approve/", views.approve, name="approve"),
    path("approvals/<uuid:action_id>/reject/", views.reject, name="reject"),
    path("approvals/<uuid:action_id>/undo/", views.undo, name="undo"),
    path("approvals/<uuid:action_id>/secret/", views.reveal_secret, name="reveal_secret"),
    path("approvals/confirm/<str:token>/", views_links.confirm, name="confirm"),
    path("safety/slack/interactions/", views_links.slack_interactions, name="slack_interactions"),
    path("safety/rules/", views_rules.rules, name="rules"),
    path("safety/rules/<uuid:rule_id>/delete/", views_rules.delete_rule, name="delete_rule"),
    path("safety/connectors/", views_scopes.connector_list, name="connectors"),
    path("safety/connectors/<uuid:connector_id>/", views_scopes.connector_editor, name="connector_editor"),
    path(
        "safety/connectors/<uuid:connector_id>/tools/<uuid:tool_id>/scope/", views_scopes.tool_scope, name="tool_scope"
    ),
    path("safety/contacts/", views_contacts.authorized_contacts, name="authorized_contacts"),
    path("safety/contacts/<uuid:contact_id>/remove/", views_contacts.remove_contact, name="remove_authorized_contact"),
    path("safety/settings/", views_settings.settings_page, name="settings"),
    path("safety/settings/preview/", views_settings.preview, name="preview"),
    path("safety/settings/sources/<uuid:source_id>/", views_settings.source_autonomy, name="source_autonomy"),
    path("safety/settings/channels/", views_settings.update_channels, name="channels"),
    path("audit/", views_audit.audit_log, name="audit"),
    path("audit/verify/", views_audit.verify_chain, name="audit_verify"),
    path("audit/export.jsonl", views_audit.export, name="audit_export"),
]
