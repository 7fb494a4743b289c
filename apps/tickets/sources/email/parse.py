"""Turning one RFC 5322 message into a normalized ticket, or recognising it as an auto-reply or a bounce.

Threading (RFC 5322 §3.6.4): a message's own id is its Message-ID; the ids it answers come from
In-Reply-To and References. A message without a Message-ID gets a stable one derived from its bytes,
so the same email delivered twice still maps to one ticket. This is email's edge: text in any charset,
known or not, is decoded leniently (``decode_leniently``) and NUL is dropped (``clean``).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header
from email.message import EmailMessage, MIMEPart
from email.utils import parseaddr, parsedate_to_datetime

from apps.core.html_text import HiddenPart, read_html
from apps.tickets.normalized import NormalizedAttachment, NormalizedContact, NormalizedMessage, NormalizedTicket

MSG_ID = re.compile(r"<[^<>\s]+>")
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}  # not "list": a support@ group forwards real mail as list
BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}


class UnparseableEmail(ValueError):
    pass


@dataclass(frozen=True)
class ParsedEmail:
    ticket: NormalizedTicket | None
    skipped_as: str = ""  # "auto-reply" | "bounce" when the message is not a customer's


def message_ids(value: str | None) -> list[str]:
    return MSG_ID.findall(str(value or "").replace("\x00", ""))


def classify(msg: EmailMessage) -> str:
    """ "bounce", "auto-reply" or "" (a person wrote it) per RFC 3834 / RFC 3464 and common vendor headers."""
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "", header="content-type") or "").lower()
    if content_type == "multipart/report" and report_type == "delivery-status":
        return "bounce"
    if sender.split("@")[0] in BOUNCE_SENDERS or str(msg.get("Return-Path", "")).strip() == "<>":
        return "bounce"
    auto_submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-reply"
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Autoresponder"):
        return "auto-reply"
    if str(msg.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return "auto-reply"
    if (
        str(msg.get("X-Auto-Response-Suppress", "")).strip().lower() in {"all", "oof"}
        and "auto" in str(msg.get("Subject", "")).lower()
    ):
        return "auto-reply"
    return ""


def decode_leniently(data: bytes, charset: str | None) -> str:
    """Text in whatever charset a sender declared, known or not: the declared one, else UTF-8, else Windows-1252
    with replacement characters. A charset alone never stops an email from becoming a ticket."""
    for candidate in (charset, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", errors="replace")


_ESCAPED_BYTES = re.compile(r"[\udc80-\udcff]+")


def clean(text: str) -> str:
    """Header or body text as stored: no NUL (PostgreSQL text cannot hold it), and the raw bytes a header
    decoder kept for a charset it did not know (as lone surrogates) decoded leniently instead."""
    if _ESCAPED_BYTES.search(text):
        text = _ESCAPED_BYTES.sub(
            lambda run: decode_leniently(run.group().encode("utf-8", "surrogateescape"), None), text
        )
    return text.replace("\x00", "")


def header_text(msg: EmailMessage, name: str) -> str:
    """A header's text. Bytes the parser could not decode (8-bit text, encoded words in a charset Python does not
    know), which it shows as replacement characters, are decoded leniently from the raw header instead."""
    value = msg.get(name)
    if value is None:
        return ""
    text = str(value)
    if "\ufffd" in text:
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        raw = re.sub(r"\r?\n(?=[ \t])", "", str(raw))
        if "=?" not in raw:
            text = raw
        elif not _ESCAPED_BYTES.search(raw):  # decode_header cannot take raw bytes beside encoded words
            words = decode_header(raw)
            text = "".join(decode_leniently(w, charset) if isinstance(w, bytes) else w for w, charset in words)
    return clean(text)


def _decoded(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return clean(decode_leniently(payload, part.get_content_charset()))


def _text_of(msg: EmailMessage) -> tuple[str, tuple[HiddenPart, ...]]:
    """The body a person reads (the plain part, else the HTML's visible text) and what the HTML part hides: a mail
    client shows the HTML, so words hidden there are hidden from the reader even when the plain part says them."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", ()
    html_part = part if part.get_content_type() == "text/html" else msg.get_body(preferencelist=("html",))
    html = read_html(_decoded(html_part), separate_hidden=True) if html_part is not None else None
    content = html.text if part is html_part and html is not None else _decoded(part)
    return content.strip(), html.hidden if html is not None else ()


def _attachments(msg: EmailMessage) -> tuple[NormalizedAttachment, ...]:
    found = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        found.append(
            NormalizedAttachment(
                filename=clean(part.get_filename() or "") or "attachment",
                content_type=part.get_content_type(),
                content=payload,
            )
        )
    return tuple(found)


def _date(msg: EmailMessage) -> datetime | None:
    try:
        value = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value.tzinfo is not None else None


AUTH_METHODS = ("spf", "dkim", "dmarc")
_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def authentication_results(msg: EmailMessage) -> str:
    """The receiving server's SPF/DKIM/DMARC verdicts on the sender (RFC 8601), e.g. "spf=pass dkim=pass dmarc=fail".

    Only the topmost Authentication-Results header counts: the server that delivered the mail to Gaby's mailbox
    prepends it, and any header below it came with the message and may be forged by the sender."""
    headers = msg.get_all("Authentication-Results") or []
    if not headers:
        return ""
    found: dict[str, str] = {}
    for method, result in _AUTH_RESULT.findall(str(headers[0])):
        found.setdefault(method.lower(), result.lower())
    return " ".join(f"{method}={found[method]}" for method in AUTH_METHODS if method in found)


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one email; raise ``UnparseableEmail`` (kept in quarantine by the poller) if it cannot be a ticket."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        kind = classify(msg)
        if kind:
            return ParsedEmail(ticket=None, skipped_as=kind)
        name, address = parseaddr(header_text(msg, "From"))
        if "@" not in address:
            raise UnparseableEmail(f"no sender address in From: {header_text(msg, 'From')!r}")
        own = message_ids(msg.get("Message-ID"))
        message_id = own[0] if own else f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@gaby.invalid>"
        refs = message_ids(msg.get("References")) + message_ids(msg.get("In-Reply-To"))
        subject = header_text(msg, "Subject").strip() or "(no subject)"
        body, hidden = _text_of(msg)
        attachments = _attachments(msg)
    except UnparseableEmail:
        raise
    except Exception as exc:  # the parser met something it cannot read: keep the raw bytes with the reason
        raise UnparseableEmail(f"{exc.__class__.__name__}: {exc}") from exc
    author = f"{name} <{address}>" if name else address
    message = NormalizedMessage(
        external_id=message_id,
        body=body,
        author_label=author,
        created_at=_date(msg),
        attachments=attachments,
        hidden=hidden,
    )
    ticket = NormalizedTicket(
        external_id=message_id,
        title=subject[:500],
        body=body,
        contact=NormalizedContact(email=address.lower(), name=name, authentication=authentication_results(msg)),
        messages=(message,),
        thread_refs=tuple(dict.fromkeys(r for r in refs if r != message_id)),
    )
    return ParsedEmail(ticket=ticket)
