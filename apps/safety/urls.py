from django.urls import path

from apps.safety import views, views_audit

app_name = "safety"
urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("audit/", views_audit.audit_log, name="audit"),
    path("audit/verify/", views_audit.verify_chain, name="audit_verify"),
    path("audit/export.jsonl", views_audit.export, name="audit_export"),
]
