"""Receivers of allauth's signals."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress


def verify_email_on_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Setting a password from the link mailed to the address proves the address is theirs. Invited members set
    their first password this way; without this their address stayed unverified and allauth refused them two-factor."""
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email__iexact=user.email, defaults={"email": user.email, "primary": True}
    )
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
