"""Per-client compliance profiles (MSP-7): which PII is redacted, how verbose the audit log is, and
which LLM providers a client's data may be sent to. A client picks one in Settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from apps.core.redaction import Redactor

ALL_PROVIDERS = frozenset(
    {"openai", "anthropic", "azure", "bedrock", "vertex", "ollama", "vllm", "llamacpp", "openai_compatible"}
)
SELF_HOSTED = frozenset({"ollama", "vllm", "llamacpp", "openai_compatible"})


class ProfileName(models.TextChoices):
    STANDARD = "standard", "Standard"
    HIPAA = "hipaa", "HIPAA (health)"
    SOC2 = "soc2", "SOC 2 (finance, SaaS)"
    PIPEDA = "pipeda", "PIPEDA (Canada)"


@dataclass(frozen=True)
class ComplianceProfile:
    name: str
    patterns: tuple[str, ...]
    audit_verbosity: str  # "full": payloads as given; "redacted": the profile's redaction applied to payload text
    allowed_providers: frozenset[str]
    notes: str

    @property
    def redactor(self) -> Redactor:
        return Redactor(self.patterns)

    def allows_provider(self, provider: str) -> bool:
        return provider in self.allowed_providers


_BASE = ("email", "card", "iban", "api_key", "credential")
PROFILES: dict[str, ComplianceProfile] = {
    ProfileName.STANDARD: ComplianceProfile(
        ProfileName.STANDARD,
        (*_BASE, "phone"),
        "full",
        ALL_PROVIDERS,
        "Cards, bank accounts, secrets, emails and phone numbers never reach an LLM.",
    ),
    ProfileName.HIPAA: ComplianceProfile(
        ProfileName.HIPAA,
        (*_BASE, "phone", "us_ssn", "ip"),
        "redacted",
        # Providers that sign a BAA for their enterprise offerings, plus models you host yourself.
        frozenset({"azure", "bedrock", "vertex"}) | SELF_HOSTED,
        "Adds SSNs and IP addresses; audit payloads are redacted; only BAA-capable or self-hosted models.",
    ),
    ProfileName.SOC2: ComplianceProfile(
        ProfileName.SOC2,
        (*_BASE, "phone", "ip"),
        "full",
        ALL_PROVIDERS,
        "Adds IP addresses; the full audit trail is kept for evidence.",
    ),
    ProfileName.PIPEDA: ComplianceProfile(
        ProfileName.PIPEDA,
        (*_BASE, "phone", "ca_sin", "ip"),
        "redacted",
        frozenset({"azure", "bedrock", "vertex"}) | SELF_HOSTED,
        "Adds Canadian SINs and IP addresses; audit payloads are redacted; no consumer API endpoints.",
    ),
}


def profile_for(client: object) -> ComplianceProfile:
    return PROFILES.get(getattr(client, "compliance_profile", ProfileName.STANDARD), PROFILES[ProfileName.STANDARD])
