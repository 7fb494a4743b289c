from django.urls import path

from apps.safety import views, views_audit, views_rules

app_name = "safety"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/<uuid:action_id>/approve/", views.approve, name="approve"),
    path("approvals/<uuid:action_id>/reject/", views.reject, name="reject"),
    path("approvals/<uuid:action_id>/undo/", views.undo, name="undo"),
    path("safety/rules/", views_rules.rules, name="rules"),
    path("safety/rules/<uuid:rule_id>/delete/", views_rules.delete_rule, name="delete_rule"),
    path("audit/", views_audit.audit_log, name="audit"),
    path("audit/verify/", views_audit.verify_chain, name="audit_verify"),
    path("audit/export.jsonl", views_audit.export, name="audit_export"),
]
