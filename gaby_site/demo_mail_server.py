"""The demo mail server: pymap (IMAP, Maildir under the data directory) and aiosmtpd (SMTP) in one process.

``python -m gaby_site.demo_mail_server`` is what ``./gaby run`` supervises. SMTP accepts any
recipient on 127.0.0.1 and delivers locally only: a demo support address goes into that mailbox's
INBOX, anything else into the ``customers`` mailbox (once per message), so the replies Gaby sends
can be read with their threading headers. Delivery is an append through pymap's own session, so
IMAP clients idling on the mailbox are told at once (pymap's Maildir backend rechecks every second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from pymap.backend.maildir import Config, Identity, MaildirBackend
from pymap.frozen import frozendict
from pymap.imap import IMAPService
from pymap.parsing.message import AppendMessage
from pymap.user import Passwords, UserMetadata

from gaby_site.demo_mail import CUSTOMERS, DemoMail

log = logging.getLogger("gaby.demo_mail")


def _mailbox_dir(login: str) -> str:
    return login.replace("@", "_at_")


class Delivery:
    """aiosmtpd handler: route each message to the local mailboxes its recipients name."""

    def __init__(self, backend: MaildirBackend, config: Config, logins: set[str]) -> None:
        self.backend, self.config, self.logins = backend, config, logins

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        targets = []
        for rcpt in envelope.rcpt_tos:
            login = rcpt.lower() if rcpt.lower() in self.logins else CUSTOMERS
            if login not in targets:
                targets.append(login)
        for login in targets:
            stamp = f"Delivered-To: {login}\r\nReceived: by gaby-demo-mail; {formatdate(usegmt=True)}\r\n".encode()
            await self.append(login, stamp + content)
        log.info("delivered", extra={"to": targets, "from": envelope.mail_from})
        return "250 Delivered"

    async def append(self, login: str, raw: bytes) -> None:
        identity = Identity(self.config, self.backend.login.tokens, login, None, frozenset())
        async with identity.new_session() as session:
            await session.append_messages("INBOX", [AppendMessage(raw, datetime.now(UTC))])


async def _start_imap(demo: DemoMail, stack: AsyncExitStack) -> tuple[MaildirBackend, Config]:
    demo.maildir.mkdir(parents=True, exist_ok=True)
    args = argparse.Namespace(
        debug=False,
        host=[demo.host],
        port=str(demo.imap_port),
        cert=None,
        key=None,
        tls=False,
        proxy_protocol=None,
        inherited_sockets=None,
        passlib_cfg=None,
        base_dir=str(demo.maildir),
        concurrency=None,
        layout="++",
        colon=None,
        skip_services=[],
    )
    backend, config = await MaildirBackend.init(args)
    config.apply_context()
    await _provision(backend, config, demo.accounts())
    await backend.start(stack)
    await IMAPService(backend, config).start(stack)
    return backend, config


async def _provision(backend: MaildirBackend, config: Config, accounts: Mapping[str, str]) -> None:
    """One pymap user per account, with the password from the accounts file (re-set on every start)."""
    passwords = Passwords(config)
    for login, password in accounts.items():
        identity = Identity(config, backend.login.tokens, login, None, frozenset())
        hashed = await passwords.hash_password(password)
        metadata = UserMetadata(
            config, login, password=hashed, params=frozendict({"mailbox_path": _mailbox_dir(login)})
        )
        await identity.set(metadata)


async def serve(demo: DemoMail, stop: asyncio.Event) -> None:
    """Serve IMAP and SMTP on ``demo.host`` until ``stop`` is set."""
    async with AsyncExitStack() as stack:
        backend, config = await _start_imap(demo, stack)
        handler = Delivery(backend, config, set(demo.accounts()) - {CUSTOMERS})
        loop = asyncio.get_running_loop()
        smtp = await loop.create_server(
            lambda: SMTP(handler, hostname="gaby-demo-mail", ident="Gaby demo mail"), demo.host, demo.smtp_port
        )
        stack.push_async_callback(smtp.wait_closed)
        stack.callback(smtp.close)
        await stop.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Gaby's demo mail server (IMAP + SMTP on 127.0.0.1).")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--imap-port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    demo = DemoMail(data_dir=options.data_dir, imap_port=options.imap_port, smtp_port=options.smtp_port)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(demo, stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
