"""A widget's allowed origins, changed through the Admin's edit page: what the audit says changed is what changed.

A disabled widget may have no sites (an onboarding template cannot know them); clearing them used to be audited as a
change and silently ignored, leaving the old sites allowed.
"""

from __future__ import annotations

from typing import Any

from apps.auditlog.models import AuditEvent
from apps.chat.models import Widget
from apps.chat.widgets import create_widget

SITE = "https://old-shop.example"


def _form(widget: Widget, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": widget.name,
        "allowed_origins": "\n".join(widget.allowed_origins),
        "greeting": widget.greeting,
        "persona_name": widget.persona_name,
        "identity_mode": widget.identity_mode,
    }
    if widget.enabled:
        data["enabled"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _changes() -> list[dict[str, Any]]:
    return [e.payload for e in AuditEvent.objects.filter(event="chat_widget.changed").order_by("id")]


def test_clearing_a_disabled_widgets_origins_applies_and_is_audited_as_it_happened(
    in_hartwell: Any, as_user: Any
) -> None:
    widget = create_widget(client=in_hartwell, changes={"name": "Shop", "allowed_origins": [SITE], "enabled": False})
    alice = as_user("alice", "hartwell")
    saved = alice.post(f"/chat/widgets/{widget.pk}/", _form(widget, allowed_origins=""))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    widget.refresh_from_db()
    assert widget.allowed_origins == []  # the old site is no longer allowed
    (change,) = _changes()
    assert change["fields"] == ["allowed_origins"]
    assert change["allowed_origins"] == {"before": [SITE], "after": []}


def test_an_enabled_widget_still_needs_a_site_and_nothing_is_audited_when_it_is_refused(
    in_hartwell: Any, as_user: Any
) -> None:
    widget = create_widget(client=in_hartwell, changes={"name": "Shop", "allowed_origins": [SITE], "enabled": True})
    alice = as_user("alice", "hartwell")
    refused = alice.post(f"/chat/widgets/{widget.pk}/", _form(widget, allowed_origins=""))
    assert refused.status_code == 400 and "List at least one site" in refused.content.decode()
    widget.refresh_from_db()
    assert widget.allowed_origins == [SITE] and _changes() == []
    # Turning it off and clearing its sites in one save is allowed; turning it back on without a site is not.
    off = alice.post(f"/chat/widgets/{widget.pk}/", _form(widget, allowed_origins="", enabled=None))
    assert off.status_code == 302
    widget.refresh_from_db()
    assert widget.allowed_origins == [] and not widget.enabled
    on = alice.post(f"/chat/widgets/{widget.pk}/", _form(widget, enabled="on"))
    assert on.status_code == 400 and "List at least one site" in on.content.decode()
    widget.refresh_from_db()
    assert not widget.enabled
    assert [c["fields"] for c in _changes()] == [["allowed_origins", "enabled"]]


def test_a_save_that_changes_nothing_audits_no_field(in_hartwell: Any, as_user: Any) -> None:
    widget = create_widget(client=in_hartwell, changes={"name": "Shop", "allowed_origins": [SITE], "enabled": True})
    alice = as_user("alice", "hartwell")
    assert alice.post(f"/chat/widgets/{widget.pk}/", _form(widget)).status_code == 302
    assert alice.post(f"/chat/widgets/{widget.pk}/", _form(widget, greeting="Hello there")).status_code == 302
    assert [c["fields"] for c in _changes()] == [[], ["greeting"]]


def test_the_service_clears_them_too(in_hartwell: Any) -> None:
    """The path an onboarding template takes (apps/onboarding/client_templates/apply.py)."""
    from apps.chat.widgets import update_widget

    widget = create_widget(client=in_hartwell, changes={"name": "Shop", "allowed_origins": [SITE], "enabled": False})
    update_widget(widget=widget, changes={"allowed_origins": [], "greeting": widget.greeting})
    widget.refresh_from_db()
    assert widget.allowed_origins == []
    assert _changes() == [
        {"widget": str(widget.pk), "fields": ["allowed_origins"], "allowed_origins": {"before": [SITE], "after": []}}
    ]
