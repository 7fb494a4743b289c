"""PII redaction before text leaves for an LLM (GOV-4): stable placeholders, restorable in replies.

``Redactor(patterns).redact(text, vault)`` replaces every match with a placeholder such as
``[EMAIL_1]``; the same value always gets the same placeholder within one ``Vault`` (one investigation
or conversation), so the model can still reason "the user at [EMAIL_1] ...", and ``vault.restore``
puts the real values back into a reply where that is appropriate. Patterns with a checksum (cards:
Luhn; IBAN: mod 97; Canadian SIN: Luhn) only fire when the checksum holds, so order numbers and
timestamps survive. Placeholders never match a pattern, which makes redaction idempotent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


def luhn_ok(digits: str) -> bool:
    numbers = [int(d) for d in digits if d.isdigit()]
    if not numbers:
        return False
    total = 0
    for index, digit in enumerate(reversed(numbers)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    compact = re.sub(r"\s+", "", value).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def _card_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_NOT_PHONES = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$"  # ISO-ish dates
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$"  # local dates
    r"|^\d{3}-\d{2}-\d{4}$"  # SSN shape: its own pattern decides
    r"|^\d{3}[- ]\d{3}[- ]\d{3}$"  # SIN shape: its own pattern decides
)


def _phone_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 7 <= len(digits) <= 15 and not _NOT_PHONES.match(value.strip())


@dataclass(frozen=True)
class Pattern:
    name: str
    kind: str  # the placeholder's word: [EMAIL_1]
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    description: str = ""


PATTERNS: dict[str, Pattern] = {
    p.name: p
    for p in (
        Pattern(
            "email",
            "EMAIL",
            re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
            description="Email addresses",
        ),
        Pattern(
            "card",
            "CARD",
            re.compile(
                r"\b\d{4}([ -]?)\d{4}\1\d{4}\1\d{1,7}\b"  # 4-4-4-x groups (Visa, Mastercard, ...)
                r"|\b\d{4}([ -]?)\d{6}\2\d{4,5}\b"  # 4-6-5 (Amex, Diners)
            ),
            _card_ok,
            description="Payment card numbers (Luhn-checked)",
        ),
        Pattern(
            "iban",
            "IBAN",
            re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
            iban_ok,
            description="IBANs (mod-97-checked)",
        ),
        Pattern(
            "us_ssn",
            "SSN",
            re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
            description="US Social Security numbers",
        ),
        Pattern(
            "ca_sin",
            "SIN",
            re.compile(r"\b\d{3}[- ]\d{3}[- ]\d{3}\b"),
            lambda v: luhn_ok(v),
            description="Canadian Social Insurance numbers (Luhn-checked)",
        ),
        Pattern(
            "uk_nino",
            "NINO",
            re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
            description="UK National Insurance numbers",
        ),
        Pattern(
            "api_key",
            "SECRET",
            re.compile(
                r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"  # Stripe
                r"|\bsk-[A-Za-z0-9_-]{20,}\b"  # OpenAI-style
                r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b"  # GitHub
                r"|\bxox[abposr]-[A-Za-z0-9-]{10,}\b"  # Slack
                r"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key id
                r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b"  # JWT
            ),
            description="API keys and tokens of well-known shapes, JWTs",
        ),
        # Only the value is replaced: "password: [SECRET_1]" keeps the sentence readable.
        Pattern(
            "credential",
            "SECRET",
            re.compile(r"(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key)\s*[=:]\s*(?P<value>[^\s\"',;]{6,})"),
            description="Values after password=, secret:, token=, api_key= and the like",
        ),
        Pattern(
            "ip",
            "IP",
            re.compile(
                r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"
                r"|\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b"
            ),
            _ip_ok,
            description="IPv4 and IPv6 addresses",
        ),
        Pattern(
            "phone",
            "PHONE",
            re.compile(
                # Not a slice of a longer run of digit groups (order numbers, failed card numbers stay intact).
                r"(?<![\w+.-])(?<!\d[ .-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){0,4}\b"
                r"(?![ .-]\d)"
            ),
            _phone_ok,
            description="Phone numbers",
        ),
    )
}

PLACEHOLDER = re.compile(r"\[([A-Z]+)_(\d+)\]")


@dataclass
class Vault:
    """The placeholders handed out in one investigation or conversation, and the values behind them."""

    by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    # Texts already redacted with this vault, by the redactor's patterns: the same text (a ticket, a passage, a
    # prompt sent again on the next call) redacts to the same result, since its values keep their placeholders.
    redacted: dict[tuple[tuple[str, ...], str], Redacted] = field(default_factory=dict, repr=False)

    def placeholder_for(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self.by_value:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            placeholder = f"[{kind}_{self.counters[kind]}]"
            self.by_value[key] = placeholder
            self.by_placeholder[placeholder] = value
        return self.by_value[key]

    def restore(self, text: str) -> str:
        """Put the real values back (for a reply to the person who gave them, never into logs)."""
        return PLACEHOLDER.sub(lambda m: self.by_placeholder.get(m.group(0), m.group(0)), text)


@dataclass(frozen=True)
class Redacted:
    text: str
    found: dict[str, int]  # kind -> how many matches were replaced


class Redactor:
    def __init__(self, pattern_names: Iterable[str]) -> None:
        unknown = set(pattern_names) - PATTERNS.keys()
        if unknown:
            raise ValueError(f"Unknown redaction patterns: {', '.join(sorted(unknown))}; known: {', '.join(PATTERNS)}.")
        self.patterns = [PATTERNS[name] for name in PATTERNS if name in set(pattern_names)]
        self.names = tuple(pattern.name for pattern in self.patterns)

    def redact(self, text: str, vault: Vault | None = None) -> Redacted:
        """Replace every match. Passes repeat until one finds nothing, so the result is a fixed point:
        redacting it again changes nothing (a match hidden behind an overlapping one surfaces in a later pass)."""
        if vault is None:
            return self._redact(text, Vault())
        key = (self.names, text)
        if key not in vault.redacted:
            vault.redacted[key] = self._redact(text, vault)
        return vault.redacted[key]

    def _redact(self, text: str, vault: Vault) -> Redacted:
        total: dict[str, int] = {}
        while True:
            text, found = self._one_pass(text, vault)
            if not found:
                return Redacted(text, total)
            for kind, count in found.items():
                total[kind] = total.get(kind, 0) + count

    def _candidates(self, text: str, pattern: Pattern) -> list[tuple[int, int, Pattern]]:
        spans = []
        position = 0
        while (match := pattern.regex.search(text, position)) is not None:
            start, end = match.span("value") if "value" in pattern.regex.groupindex else match.span()
            if pattern.check is None or pattern.check(text[start:end]):
                spans.append((start, end, pattern))
                position = max(match.end(), position + 1)
            else:
                position = match.start() + 1  # a failed greedy match may hide a valid shorter one
        return spans

    def _one_pass(self, text: str, vault: Vault) -> tuple[str, dict[str, int]]:
        protected = [m.span() for m in PLACEHOLDER.finditer(text)]  # never redact inside a placeholder
        spans = [span for pattern in self.patterns for span in self._candidates(text, pattern)]
        # Earlier first; at the same start, the longer match (a card beats a phone inside it).
        spans.sort(key=lambda span: (span[0], -(span[1] - span[0])))
        pieces: list[str] = []
        cursor = 0
        found: dict[str, int] = {}
        for start, end, pattern in spans:
            if start < cursor or any(start < p_end and end > p_start for p_start, p_end in protected):
                continue
            pieces.append(text[cursor:start])
            pieces.append(vault.placeholder_for(pattern.kind, text[start:end]))
            found[pattern.kind] = found.get(pattern.kind, 0) + 1
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces), found
