"""IMAP IDLE (RFC 2177): one connection that waits on the mailbox and says when new mail arrived.

imaplib (Python 3.11) has no IDLE, so the exchange is done on the connection's socket: ``<tag> IDLE``,
the server's ``+`` continuation, then untagged updates until ``DONE`` ends it. ``* n EXISTS`` (or
``RECENT``) means new mail. Each wait is bounded (servers drop an IDLE after ~30 minutes; we renew
well before), and the socket is read directly with a timeout, never through imaplib's buffered file,
which refuses further reads once a read has timed out.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import time
from types import TracebackType

from apps.tickets.sources.base import SourceError, TransientSourceError
from apps.tickets.sources.email.adapter import TIMEOUT, EmailAdapter

NEW_MAIL = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
RENEW_SECONDS = 25 * 60


class IdleUnsupported(SourceError):
    """The server does not offer IDLE: this source stays on polling."""


class MailboxWatcher:
    def __init__(self, adapter: EmailAdapter) -> None:
        self.adapter = adapter
        self.conn: imaplib.IMAP4 | None = None
        self._buffer = b""

    def __enter__(self) -> MailboxWatcher:
        conn = self.adapter._imap()
        try:
            # Servers may advertise more once signed in than in their greeting: ask again.
            typ, data = conn.capability()
            offered = (data[0] or b"").upper().split() if typ == "OK" and data else []
            if b"IDLE" not in offered and "IDLE" not in conn.capabilities:
                raise IdleUnsupported(f"{conn.host} does not support IMAP IDLE; this source is polled instead.")
            mailbox = str(self.adapter.config.get("mailbox") or "INBOX")
            typ, data = conn.select(f'"{mailbox}"', readonly=True)
            if typ != "OK":
                raise SourceError(f"IMAP mailbox {mailbox!r} cannot be opened: {data!r}")
        except BaseException:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()
            raise
        self.conn = conn
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error, imaplib.IMAP4.abort):
                self.conn.sock.settimeout(5)
                self.conn.logout()
            self.conn = None

    def _line(self, deadline: float) -> bytes | None:
        """The next line from the server, or None when the deadline passes first."""
        assert self.conn is not None
        sock = self.conn.sock
        while b"\r\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                return None
            except OSError as exc:
                raise TransientSourceError(f"IMAP IDLE connection lost: {exc}") from exc
            if not chunk:
                raise TransientSourceError("The IMAP server closed the IDLE connection.")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def wait(self, seconds: float) -> bool:
        """Idle up to ``seconds`` (at most RENEW_SECONDS); True as soon as the server announces new mail."""
        assert self.conn is not None, "use MailboxWatcher as a context manager"
        conn = self.conn
        tag = conn._new_tag()
        conn.sock.sendall(tag + b" IDLE\r\n")
        start = self._line(time.monotonic() + TIMEOUT)
        if start is None or not start.startswith(b"+"):
            raise SourceError(f"The IMAP server refused IDLE: {start!r}")
        woke = False
        deadline = time.monotonic() + min(seconds, RENEW_SECONDS)
        while not woke:
            line = self._line(deadline)
            if line is None:
                break
            woke = bool(NEW_MAIL.match(line))
        conn.sock.sendall(b"DONE\r\n")
        finish = time.monotonic() + TIMEOUT
        while True:
            line = self._line(finish)
            if line is None:
                raise TransientSourceError("The IMAP server did not end IDLE after DONE.")
            if line.startswith(tag):
                if not line[len(tag) :].strip().upper().startswith(b"OK"):
                    raise SourceError(f"IDLE ended with {line!r}")
                return woke
            woke = woke or bool(NEW_MAIL.match(line))
