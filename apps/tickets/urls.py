from django.urls import path

from apps.tickets import views, views_bulk, views_connect, views_detail, views_saved, views_sources, views_webhooks

app_name = "tickets"
urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("bulk/", views_bulk.bulk_update, name="bulk"),
    path("views/save/", views_saved.save, name="save_view"),
    path("views/<uuid:view_id>/delete/", views_saved.delete, name="delete_view"),
    path("t/<uuid:ticket_id>/", views_detail.ticket_detail, name="detail"),
    path("t/<uuid:ticket_id>/reply/", views_detail.reply, name="reply"),
    path("t/<uuid:ticket_id>/status/", views_detail.change_status, name="status"),
    path("t/<uuid:ticket_id>/assign/", views_detail.assign, name="assign"),
    path("t/<uuid:ticket_id>/tags/", views_detail.set_tags, name="tags"),
    path("t/<uuid:ticket_id>/push/<uuid:push_id>/retry/", views_detail.retry_push, name="push_retry"),
    path("attachments/<uuid:attachment_id>/", views_detail.attachment, name="attachment"),
    path("sources/", views_sources.sources, name="sources"),
    path("sources/connect/<slug:kind>/", views_connect.connect_source, name="connect_source"),
    path("quarantine/", views_sources.quarantine, name="quarantine"),
    path("quarantine/<uuid:payload_id>/resolve/", views_sources.resolve_quarantined, name="resolve_quarantined"),
    path("webhooks/", views_webhooks.webhooks, name="webhooks"),
    path("webhooks/new/", views_webhooks.create_endpoint, name="webhook_create"),
    path("webhooks/<uuid:endpoint_id>/", views_webhooks.update_endpoint, name="webhook_update"),
    path("webhooks/<uuid:endpoint_id>/rotate/", views_webhooks.rotate_secret, name="webhook_rotate"),
    path("webhooks/<uuid:endpoint_id>/delete/", views_webhooks.delete_endpoint, name="webhook_delete"),
    path("webhooks/deliveries/<uuid:delivery_id>/redeliver/", views_webhooks.redeliver, name="webhook_redeliver"),
]
