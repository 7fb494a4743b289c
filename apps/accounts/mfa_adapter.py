"""Two-factor secrets sealed at rest: allauth stores each TOTP secret and recovery-code seed in
``mfa_authenticator.data``; this adapter seals them with the install's key (apps/core/secrets.py) so a copy of the
database alone cannot mint anyone's codes."""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter

from apps.core.secrets import INSTALL_PREFIX, seal_install, unseal_install

PURPOSE = "mfa"


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return seal_install(text, purpose=PURPOSE)

    def decrypt(self, encrypted_text: str) -> str:
        # A secret stored before sealing existed is read as it is; the migration that added this seals them.
        if not encrypted_text.startswith(INSTALL_PREFIX):
            return encrypted_text
        return unseal_install(encrypted_text, purpose=PURPOSE)
