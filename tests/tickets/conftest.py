"""Fixtures of the tickets tests: sources in Hartwell's schema, a real IMAP server (pymap) and a real
SMTP server (aiosmtpd), each started by the tests on a free loopback port."""

from __future__ import annotations

import imaplib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django_tenants.utils import tenant_context

IMAP_USER, IMAP_PASSWORD = "support", "imap-demo-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def make_source(hartwell: Any) -> Any:
    from apps.tickets import services

    def make(kind: str = "webhook", name: str = "Partner portal", **config: Any) -> Any:
        with tenant_context(hartwell):
            return services.create_source(client=hartwell, kind=kind, name=name, config=config)

    return make


class ImapServer:
    def __init__(self, port: int, process: subprocess.Popen[bytes]) -> None:
        self.host, self.port, self.process = "127.0.0.1", port, process

    def deliver(self, message: EmailMessage | bytes) -> None:
        """Put a message into the mailbox the way a mail server does: IMAP APPEND."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(IMAP_USER, IMAP_PASSWORD)
            typ, data = conn.append("INBOX", None, imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def config(self) -> dict[str, Any]:
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_security": "none",
            "imap_user": IMAP_USER,
            "imap_password": IMAP_PASSWORD,
            "mailbox": "INBOX",
        }


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    """A fresh pymap (dict backend: in memory) per test, so each mailbox starts empty."""
    pymap = shutil.which("pymap", path=str(Path(sys.executable).parent))
    assert pymap, "pymap is a dev requirement"
    port = free_port()
    process = subprocess.Popen(
        [
            pymap,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "dict",
            "--demo-user",
            IMAP_USER,
            "--demo-password",
            IMAP_PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"pymap did not start: {process.stderr.read() if process.stderr else b''!r}"
                ) from None
            time.sleep(0.1)
    yield ImapServer(port, process)
    process.terminate()
    process.wait(timeout=10)


class Captured:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": bytes(envelope.content)}
        )
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Captured]]:
    handler = Captured()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()
