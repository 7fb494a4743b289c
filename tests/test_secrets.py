"""Per-client envelope encryption: one data key per client, bound to client and purpose."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import secrets
from tenants.models import Client


def test_sealed_values_open_only_for_their_client_and_purpose(hartwell: Any, dearborn: Any) -> None:
    token = secrets.seal(hartwell, "zendesk-api-token-123", purpose="ticket-source:1")
    assert token.startswith("gs1:") and "zendesk-api-token-123" not in token
    assert secrets.unseal(hartwell, token, purpose="ticket-source:1") == "zendesk-api-token-123"
    with pytest.raises(secrets.SecretError, match="does not belong to Dearborn CPA"):
        secrets.unseal(dearborn, token, purpose="ticket-source:1")
    with pytest.raises(secrets.SecretError):
        secrets.unseal(hartwell, token, purpose="ticket-source:2")
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(secrets.SecretError):
        secrets.unseal(hartwell, tampered, purpose="ticket-source:1")


def test_each_client_has_its_own_wrapped_data_key(hartwell: Any, dearborn: Any) -> None:
    secrets.seal(hartwell, "a", purpose="p")
    secrets.seal(dearborn, "b", purpose="p")
    wrapped = dict(Client.objects.filter(pk__in=[hartwell.pk, dearborn.pk]).values_list("slug", "wrapped_data_key"))
    assert wrapped["hartwell"] and wrapped["dearborn"] and bytes(wrapped["hartwell"]) != bytes(wrapped["dearborn"])
    # The stored data key is wrapped: after forgetting the cache it is unwrapped again from the database.
    token = secrets.seal_json(hartwell, {"user": "x", "token": "y"}, purpose="p")
    secrets.forget_cached_keys()
    assert secrets.unseal_json(hartwell, token, purpose="p") == {"token": "y", "user": "x"}


def test_a_different_master_key_cannot_open_data_keys(hartwell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.seal(hartwell, "s", purpose="p")
    secrets.forget_cached_keys()
    monkeypatch.setattr(secrets, "_provider", secrets.MasterKeyProvider(b"\x01" * 32))
    with pytest.raises(secrets.SecretError, match="master key"):
        secrets.unseal(hartwell, token, purpose="p")
    secrets.forget_cached_keys()


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        secrets.MasterKeyProvider(b"short")


def test_a_new_data_key_is_remembered_only_after_commit(hartwell: Any, django_capture_on_commit_callbacks: Any) -> None:
    secrets.forget_cached_keys()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        secrets.seal(hartwell, "x", purpose="p")
    assert str(hartwell.pk) not in secrets._data_keys  # not yet committed: not cached
    for callback in callbacks:
        callback()
    assert str(hartwell.pk) in secrets._data_keys
    secrets.forget_cached_keys()
