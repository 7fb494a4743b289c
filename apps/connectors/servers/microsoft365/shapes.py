"""SDK objects (msgraph-sdk models) as the small JSON a tool returns: only what a support investigation needs."""

from __future__ import annotations

import datetime
from typing import Any

from msgraph.generated.models.authentication_method import AuthenticationMethod
from msgraph.generated.models.email_authentication_method import EmailAuthenticationMethod
from msgraph.generated.models.fido2_authentication_method import Fido2AuthenticationMethod
from msgraph.generated.models.group import Group
from msgraph.generated.models.managed_device import ManagedDevice
from msgraph.generated.models.microsoft_authenticator_authentication_method import (
    MicrosoftAuthenticatorAuthenticationMethod,
)
from msgraph.generated.models.password_authentication_method import PasswordAuthenticationMethod
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod
from msgraph.generated.models.software_oath_authentication_method import SoftwareOathAuthenticationMethod
from msgraph.generated.models.user import User
from msgraph.generated.models.windows_hello_for_business_authentication_method import (
    WindowsHelloForBusinessAuthenticationMethod,
)

# Method kind → the typed collection that deletes it (v1.0 has no DELETE on /authentication/methods/{id}).
# The password method cannot be deleted: reset_password replaces it.
METHOD_KINDS: dict[type[AuthenticationMethod], str] = {
    PasswordAuthenticationMethod: "password",
    MicrosoftAuthenticatorAuthenticationMethod: "microsoftAuthenticator",
    PhoneAuthenticationMethod: "phone",
    Fido2AuthenticationMethod: "fido2",
    SoftwareOathAuthenticationMethod: "softwareOath",
    EmailAuthenticationMethod: "email",
    WindowsHelloForBusinessAuthenticationMethod: "windowsHelloForBusiness",
}


def when(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds") if value else None


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


def user_summary(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "full_name": user.display_name,
        "user_principal_name": user.user_principal_name,
        # "email" names the record's owner for the safety gate's account book (apps/safety/requester.py)
        "email": user.mail or user.user_principal_name,
        "account_enabled": user.account_enabled,
        "job_title": user.job_title,
        "usage_location": user.usage_location,
    }


def method_kind(item: AuthenticationMethod) -> str:
    return METHOD_KINDS.get(
        type(item), (item.odata_type or "unknown").rsplit(".", 1)[-1].removesuffix("AuthenticationMethod")
    )


def _last_digits(number: str | None) -> str | None:
    """A phone number's last four digits: enough to tell the user which phone, not enough to disclose it."""
    digits = [c for c in number or "" if c.isdigit()]
    return "••• " + "".join(digits[-4:]) if digits else None


def method(item: AuthenticationMethod) -> dict[str, Any]:
    kind = method_kind(item)
    detail: str | None = None
    if isinstance(item, MicrosoftAuthenticatorAuthenticationMethod | Fido2AuthenticationMethod):
        detail = item.display_name
    elif isinstance(item, PhoneAuthenticationMethod):
        detail = f"{_enum(item.phone_type) or 'phone'} {_last_digits(item.phone_number) or ''}".strip()
    elif isinstance(item, EmailAuthenticationMethod):
        address = item.email_address or ""
        detail = f"{address[:1]}…@{address.partition('@')[2]}" if "@" in address else None
    elif isinstance(item, WindowsHelloForBusinessAuthenticationMethod):
        detail = item.display_name
    return {"id": item.id, "kind": kind, "detail": detail, "created": when(item.created_date_time)}


def group(item: Group) -> dict[str, Any]:
    types = list(item.group_types or [])
    if "Unified" in types:
        kind = "Microsoft 365 group"
    elif item.mail_enabled and item.security_enabled:
        kind = "mail-enabled security group"
    elif item.mail_enabled:
        kind = "distribution list"
    else:
        kind = "security group"
    return {
        "id": item.id,
        "display_name": item.display_name,
        "mail": item.mail,
        "kind": kind,
        # Graph cannot change the members of distribution lists and mail-enabled security groups: Exchange does.
        "membership_editable": kind in ("Microsoft 365 group", "security group"),
    }


def device(item: ManagedDevice) -> dict[str, Any]:
    return {
        "id": item.id,
        "device_name": item.device_name,
        "operating_system": item.operating_system,
        "os_version": item.os_version,
        "model": item.model,
        "manufacturer": item.manufacturer,
        "compliance": _enum(item.compliance_state),
        "management_state": _enum(item.management_state),
        "ownership": _enum(item.managed_device_owner_type),
        "last_sync": when(item.last_sync_date_time),
        "enrolled": when(item.enrolled_date_time),
        "encrypted": item.is_encrypted,
    }
