"""Raw payloads (an email's bytes, a webhook's body) kept as PostgreSQL text without losing a byte.

PostgreSQL text holds neither NUL nor bytes that are not UTF-8, and a quarantined payload must be readable by an
operator and processable again. A payload that is clean UTF-8 is stored as it is. Any other is stored escaped:
NUL and each byte that is not UTF-8 become ``\\xNN`` and a backslash becomes ``\\\\``, so the text stays legible
and ``unescape`` gives back the exact bytes; its content type carries ``ESCAPED_PARAM`` to say so.
"""

from __future__ import annotations

import re

from apps.tickets.models import QuarantinedPayload

ESCAPED_PARAM = "gaby-escaped=backslash"
_TO_ESCAPE = re.compile(r"[\\\x00\udc80-\udcff]")
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2})")


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return f"\\x{code - 0xDC00 if code >= 0xDC80 else code:02x}"


def escape(raw: bytes) -> str:
    # surrogateescape maps each byte that is not UTF-8 to one lone surrogate, and back again, exactly.
    return _TO_ESCAPE.sub(_escape_one, raw.decode("utf-8", errors="surrogateescape"))


def _unescape_one(match: re.Match[str]) -> str:
    token = match.group(1)
    if token == "\\":
        return "\\"
    code = int(token[1:], 16)
    return chr(0xDC00 + code if code >= 0x80 else code)


def unescape(text: str) -> bytes:
    return _ESCAPED.sub(_unescape_one, text).encode("utf-8", errors="surrogateescape")


def as_text(raw: str | bytes) -> tuple[str, bool]:
    """``(text to store, escaped)``: the payload itself when PostgreSQL can hold it, else its escaped form."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="surrogatepass")
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return escape(data), True


def clean_text(value: str, limit: int) -> str:
    """A short text (an error, a content type) PostgreSQL can hold: NUL and lone surrogates are replaced."""
    return value.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\ufffd")[:limit]


def mark_escaped(content_type: str, limit: int) -> str:
    """The content type of an escaped payload: the sender's, then ``ESCAPED_PARAM``, within ``limit``."""
    room = limit - len(ESCAPED_PARAM) - 2
    return "; ".join(part for part in (content_type[:room], ESCAPED_PARAM) if part)


def is_escaped(content_type: str) -> bool:
    return ESCAPED_PARAM in content_type.replace(" ", "").split(";")


def payload_bytes(payload: QuarantinedPayload) -> bytes:
    """The bytes a quarantined payload arrived as, to process it again (text payloads: their UTF-8)."""
    return unescape(payload.raw) if is_escaped(payload.content_type) else payload.raw.encode("utf-8")
