"""Read this client's safety settings (approval expiry, approval channels) from its schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from apps.core.secrets import unseal_json
from apps.safety.models import SafetySettings
from tenants.models import Client

CHANNELS_PURPOSE = "safety:channels"


def safety_settings() -> SafetySettings:
    """The one row of the current schema, created with the defaults the first time it is needed."""
    return SafetySettings.objects.one()


def admin_approval_risk() -> int:
    """The risk from which only an Admin may approve (issue 18: any Agent approved a risk-65 production write)."""
    row = SafetySettings.objects.filter(singleton=True).only("admin_approval_risk").first()
    return row.admin_approval_risk if row else SafetySettings._meta.get_field("admin_approval_risk").get_default()


def approval_ttl() -> timedelta:
    row = SafetySettings.objects.filter(singleton=True).only("approval_ttl_hours").first()
    return timedelta(hours=row.approval_ttl_hours if row else 24)


@dataclass(frozen=True)
class Channels:
    """Where approval requests go besides the web queue. Secrets: never render these values."""

    slack_webhook_url: str = ""
    slack_signing_secret: str = ""
    # Slack user id → the Gaby user (email) a button click acts as; clicks by anyone else are refused.
    slack_users: dict[str, str] = field(default_factory=dict)
    teams_webhook_url: str = ""

    @property
    def slack(self) -> bool:
        return bool(self.slack_webhook_url)

    @property
    def slack_interactive(self) -> bool:
        return bool(self.slack_signing_secret)

    @property
    def teams(self) -> bool:
        return bool(self.teams_webhook_url)


def channels(client: Client, row: SafetySettings | None = None) -> Channels:
    row = row or SafetySettings.objects.existing()
    if row is None or not row.sealed_channels:
        return Channels()
    data = unseal_json(client, row.sealed_channels, purpose=CHANNELS_PURPOSE)
    return Channels(
        slack_webhook_url=str(data.get("slack_webhook_url", "")),
        slack_signing_secret=str(data.get("slack_signing_secret", "")),
        slack_users={str(k): str(v) for k, v in dict(data.get("slack_users") or {}).items()},
        teams_webhook_url=str(data.get("teams_webhook_url", "")),
    )
