"""Per-client envelope encryption for secrets (GOV-1, MSP-1, CON-4).

Every client has its own random 256-bit data key, stored only wrapped (encrypted) by a key provider;
secrets of that client (help-desk tokens, connector credentials, LLM keys) are sealed with AES-256-GCM
under that data key, bound to the client and to a ``purpose`` string as associated data, so a value
copied to another client or another field fails to open. The default provider wraps with a master key
from ``GABY_MASTER_KEY`` (or ``GABY_MASTER_KEY_FILE``; generated into the data directory outside
production); the ``KeyProvider`` interface is where Vault, AWS KMS / Secrets Manager or GCP would plug in.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from apps.core.env import env_str
from tenants.models import Client

TOKEN_PREFIX = "gs1:"  # format version of sealed values
NONCE_BYTES = 12


class SecretError(Exception):
    """A sealed value could not be opened: wrong client, wrong purpose, tampered, or the key changed."""


class KeyProvider(Protocol):
    name: str

    def wrap(self, data_key: bytes, *, client_id: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, client_id: str) -> bytes: ...


class MasterKeyProvider:
    """Wraps data keys with AES-256-GCM under one master key held outside the database."""

    name = "master-key"

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ImproperlyConfigured("GABY_MASTER_KEY must be 32 bytes, base64-encoded (44 characters).")
        self._aead = AESGCM(master_key)

    def wrap(self, data_key: bytes, *, client_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, f"gaby-data-key:{client_id}".encode())

    def unwrap(self, wrapped: bytes, *, client_id: str) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], f"gaby-data-key:{client_id}".encode()
            )
        except InvalidTag:
            raise SecretError(
                "This client's data key does not open with the configured master key (was GABY_MASTER_KEY changed?)."
            ) from None


def _master_key() -> bytes:
    value = env_str("GABY_MASTER_KEY")
    if not value:
        if settings.IS_PRODUCTION:
            raise ImproperlyConfigured(
                "GABY_MASTER_KEY is required in production: 32 random bytes, base64, e.g. "
                "python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())'."
            )
        path = settings.DATA_DIR / "master_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(base64.b64encode(os.urandom(32)).decode(), encoding="utf-8")
            path.chmod(0o600)
        value = path.read_text(encoding="utf-8").strip()
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise ImproperlyConfigured("GABY_MASTER_KEY is not valid base64.") from None


_provider: KeyProvider | None = None
_provider_lock = threading.Lock()
_data_keys: dict[str, bytes] = {}  # client id -> unwrapped data key, per process


def provider() -> KeyProvider:
    global _provider
    with _provider_lock:
        if _provider is None:
            _provider = MasterKeyProvider(_master_key())
        return _provider


def _data_key(client: Client) -> bytes:
    client_id = str(client.pk)
    cached = _data_keys.get(client_id)
    if cached is not None:
        return cached
    with transaction.atomic():
        locked = Client.objects.select_for_update().only("id", "wrapped_data_key").get(pk=client.pk)
        if locked.wrapped_data_key:
            key = provider().unwrap(bytes(locked.wrapped_data_key), client_id=client_id)
        else:
            key = AESGCM.generate_key(bit_length=256)
            locked.wrapped_data_key = provider().wrap(key, client_id=client_id)
            locked.save(update_fields=["wrapped_data_key"])
        # Remember the key only once the row holding it is committed: a rolled-back transaction must
        # not leave this process sealing with a key no other process can ever read.
        transaction.on_commit(lambda: _data_keys.__setitem__(client_id, key))
    return key


def _aad(client: Client, purpose: str) -> bytes:
    return f"{client.pk}|{purpose}".encode()


def seal(client: Client, plaintext: str, *, purpose: str) -> str:
    """Encrypt ``plaintext`` for ``client``; ``purpose`` (e.g. ``"ticket-source:<id>"``) must match to open it."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_data_key(client)).encrypt(nonce, plaintext.encode(), _aad(client, purpose))
    return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(client: Client, token: str, *, purpose: str) -> str:
    if not token.startswith(TOKEN_PREFIX):
        raise SecretError("Not a sealed value.")
    aead = AESGCM(_data_key(client))
    try:
        raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :])
        return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(client, purpose)).decode()
    except (InvalidTag, ValueError):
        raise SecretError(f"This secret does not belong to {client.name} / {purpose}, or it was altered.") from None


def seal_json(client: Client, data: dict[str, Any], *, purpose: str) -> str:
    return seal(client, json.dumps(data, sort_keys=True), purpose=purpose)


def unseal_json(client: Client, token: str, *, purpose: str) -> dict[str, Any]:
    value = json.loads(unseal(client, token, purpose=purpose))
    if not isinstance(value, dict):
        raise SecretError("The sealed value is not a JSON object.")
    return value


def forget_cached_keys() -> None:
    """Drop unwrapped data keys and derived keys from memory (tests; key rotation)."""
    _data_keys.clear()
    derived_key.cache_clear()


# Secrets that belong to the install, not to a client (the people's TOTP secrets and recovery-code seeds live in
# the public schema): sealed under a key derived from the master key for that use alone, bound to a purpose.
INSTALL_PREFIX = "gi1:"


@functools.lru_cache(maxsize=8)
def derived_key(purpose: str) -> bytes:
    """A 256-bit key for one install-level use (``purpose``), derived from the master key with HKDF, so each use
    has its own key and the master key itself is read once per process, not per value sealed or signed."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"gaby-{purpose}".encode()).derive(_master_key())


def _install_key() -> bytes:
    return derived_key("install-secrets")


def seal_install(plaintext: str, *, purpose: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_install_key()).encrypt(nonce, plaintext.encode(), purpose.encode())
    return INSTALL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_install(token: str, *, purpose: str) -> str:
    if not token.startswith(INSTALL_PREFIX):
        raise SecretError("Not a value sealed by this install.")
    try:
        raw = base64.urlsafe_b64decode(token[len(INSTALL_PREFIX) :])
        return AESGCM(_install_key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()).decode()
    except (InvalidTag, ValueError):
        raise SecretError(f"This {purpose} secret was altered, or GABY_MASTER_KEY changed.") from None
