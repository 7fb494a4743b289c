"""Inbound email over IMAP (polling by UID) and outbound replies over SMTP with threading headers (SRC-2).

Configuration (sealed): ``imap_host``, ``imap_port``, ``imap_security`` (ssl | starttls | none),
``imap_user``, ``imap_password``, ``mailbox`` (INBOX), ``smtp_host``, ``smtp_port``, ``smtp_security``
(ssl | starttls | none), ``smtp_user``, ``smtp_password``, ``from_address``, ``batch_size`` (50).

The cursor is ``{"uidvalidity": V, "last_uid": N}``: messages are fetched with BODY.PEEK (the mailbox's
\\Seen flags are left alone) in UID order, and each is a ``Step`` carrying the cursor just past it, so the
poll stores its place message by message; if the server's UIDVALIDITY changes the mailbox is read
again from the start, which is harmless because ingestion deduplicates by Message-ID.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, ClassVar

from apps.tickets.sources.base import (
    Delivered,
    OutboundMessage,
    Page,
    Rejected,
    SourceAdapter,
    SourceError,
    Step,
    TransientSourceError,
)
from apps.tickets.sources.email.parse import UnparseableEmail, parse_email

TIMEOUT = 30
FETCH_UID = re.compile(rb"UID (\d+)")


def _security(config: Mapping[str, Any], key: str, default: str) -> str:
    value = str(config.get(key) or default).lower()
    if value not in {"ssl", "starttls", "none"}:
        raise SourceError(f"{key} must be ssl, starttls or none, not {value!r}.")
    return value


class EmailAdapter(SourceAdapter):
    kind: ClassVar[str] = "email"
    label: ClassVar[str] = "Email"
    sink_kinds: ClassVar[frozenset[str]] = frozenset({"public_reply"})  # internal notes stay in Gaby

    # --- IMAP ------------------------------------------------------------------------------
    def _imap(self) -> imaplib.IMAP4:
        host = str(self.config.get("imap_host", ""))
        if not host:
            raise SourceError("This email source has no imap_host configured.")
        security = _security(self.config, "imap_security", "ssl")
        port = int(self.config.get("imap_port") or (993 if security == "ssl" else 143))
        try:
            conn: imaplib.IMAP4
            if security == "ssl":
                conn = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
            else:
                conn = imaplib.IMAP4(host, port, timeout=TIMEOUT)
                if security == "starttls":
                    conn.starttls(ssl_context=ssl.create_default_context())
            conn.login(str(self.config.get("imap_user", "")), str(self.config.get("imap_password", "")))
        except imaplib.IMAP4.error as exc:
            raise SourceError(f"IMAP sign-in to {host}:{port} refused: {exc}") from exc
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise TransientSourceError(f"IMAP server {host}:{port} unreachable: {exc}") from exc
        return conn

    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        batch = max(1, min(int(self.config.get("batch_size") or 50), 500))
        mailbox = str(self.config.get("mailbox") or "INBOX")
        conn = self._imap()
        try:
            typ, data = conn.select(f'"{mailbox}"', readonly=True)
            if typ != "OK":
                raise SourceError(f"IMAP mailbox {mailbox!r} cannot be opened: {data!r}")
            validity_data = conn.response("UIDVALIDITY")[1]
            uidvalidity = int(validity_data[0]) if validity_data and validity_data[0] else 0
            last_uid = int(cursor.get("last_uid", 0)) if cursor.get("uidvalidity") == uidvalidity else 0
            typ, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
            if typ != "OK":
                raise SourceError(f"IMAP search failed: {data!r}")
            # "n:*" always matches the newest message, even one at or below n: filter it out.
            uids = sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)
            chosen = uids[:batch]
            page = Page(
                tickets=[],
                cursor={"uidvalidity": uidvalidity, "last_uid": chosen[-1] if chosen else last_uid},
                has_more=len(uids) > batch,
            )
            if chosen:
                self._fetch_into(conn, chosen, page)
            return page
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise TransientSourceError(f"IMAP connection lost: {exc}") from exc
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def _fetch_into(self, conn: imaplib.IMAP4, uids: list[int], page: Page) -> None:
        """Each fetched message as a step of ``page``, in UID order, with the cursor just past it."""
        typ, data = conn.uid("FETCH", ",".join(str(u) for u in uids), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise SourceError(f"IMAP fetch failed: {data!r}")
        fetched: list[tuple[int, bytes]] = []
        for item in data:
            if isinstance(item, tuple):
                found = FETCH_UID.search(item[0])
                fetched.append((int(found.group(1)) if found else 0, item[1]))
        fetched.sort(key=lambda pair: pair[0])
        # A server that leaves a UID out gets no place per message: the page's cursor moves after all of them.
        per_message = all(uid for uid, _ in fetched)
        validity = page.cursor["uidvalidity"]
        for uid, raw in fetched:
            position = {"uidvalidity": validity, "last_uid": uid} if per_message else {}
            try:
                parsed = parse_email(raw)
            except UnparseableEmail as exc:
                where = f"IMAP UID {uid}" if uid else "IMAP message"
                rejected = Rejected(raw=raw, error=f"{where}: {exc}", content_type="message/rfc822")
                page.steps.append(Step(rejected, position))
                continue
            item = parsed.ticket if parsed.ticket is not None else parsed.skipped_as
            page.steps.append(Step(item, position, raw=raw, raw_type="message/rfc822"))

    # --- SMTP ------------------------------------------------------------------------------
    def compose(self, message: OutboundMessage) -> EmailMessage:
        sender = str(self.config.get("from_address", ""))
        domain = parseaddr(sender)[1].rpartition("@")[2] or "gaby.invalid"
        mail = EmailMessage()
        mail["From"] = sender
        mail["To"] = message.contact_email
        subject = message.title
        mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        mail["Date"] = formatdate(usegmt=True)
        # Derived from Gaby's message id: the same reply always carries the same Message-ID.
        mail["Message-ID"] = f"<{message.message_id}@{domain}>"
        thread = [t for t in message.thread_ids if t.startswith("<")] or [message.ticket_external_id]
        mail["In-Reply-To"] = thread[-1]
        mail["References"] = " ".join(dict.fromkeys([thread[0], *thread[-19:]]))
        mail.set_content(message.body)
        return mail

    def post_reply(self, message: OutboundMessage) -> Delivered:
        if not message.contact_email:
            raise SourceError("This ticket has no customer email address to reply to.")
        if not self.config.get("from_address"):
            raise SourceError("This email source has no from_address configured.")
        mail = self.compose(message)
        host = str(self.config.get("smtp_host", ""))
        security = _security(self.config, "smtp_security", "starttls")
        port = int(self.config.get("smtp_port") or {"ssl": 465, "starttls": 587, "none": 25}[security])
        try:
            smtp: smtplib.SMTP
            if security == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            with smtp:
                if self.config.get("smtp_user"):
                    smtp.login(str(self.config["smtp_user"]), str(self.config.get("smtp_password", "")))
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            text = f"SMTP {host}:{port} answered {exc.smtp_code}: {exc.smtp_error!r}"
            raise (TransientSourceError(text) if 400 <= exc.smtp_code < 500 else SourceError(text)) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SourceError(f"SMTP {host}:{port} refused the recipient: {exc.recipients!r}") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            raise TransientSourceError(f"SMTP {host}:{port} unreachable: {exc}") from exc
        return Delivered(external_id=str(mail["Message-ID"]))
