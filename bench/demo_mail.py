"""Email to ticket through the demo mail server: SMTP send -> IMAP IDLE -> pull -> ticket stored.

Starts the demo mail server with the command ``./gaby run`` supervises (scratch data directory, free
ports), gives a dedicated client an email source on its demo mailbox, runs the IMAP IDLE listener
with the pull done in its own thread (what the worker does after the listener queues it), and times
``--mails`` emails from the SMTP hand-off to the ticket existing in PostgreSQL. Floor, same run: the
time from the same SMTP hand-off to the IDLE ``EXISTS`` alone (pymap's Maildir backend rechecks
every second, so both carry up to a second of that wait).

    GABY_ENV=development .venv/bin/python bench/demo_mail.py [--mails 20]
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import free_port, setup_django

SLUG = "mailbench"


def _send(mail: Any, n: int) -> str:
    message = EmailMessage()
    message["From"] = f"Bench Customer {n} <bench{n}@customer.demo>"
    message["To"] = f"support@{SLUG}.demo"
    message["Subject"] = f"Bench mail {n}: printer offline"
    message["Message-ID"] = make_msgid(domain="customer.demo")
    message.set_content("The printer on floor 3 shows error 49.")
    with smtplib.SMTP(mail.host, mail.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)
    return str(message["Message-ID"])


def _figures(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"  {label:<52} p50 {statistics.median(ordered):5.2f} s  p95 {p95:5.2f} s  max {ordered[-1]:5.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from django.db import connections
    from django_tenants.utils import tenant_context

    from apps.tickets import polling, services
    from apps.tickets.models import Message, Ticket, TicketSource
    from apps.tickets.sources.email.adapter import EmailAdapter
    from apps.tickets.sources.email.idle import MailboxWatcher
    from apps.tickets.sources.email.listener import IdleListener
    from gaby_site.demo_mail import DemoMail
    from gaby_site.launcher import ROOT, process_commands, wait_for_port
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    scratch = tempfile.TemporaryDirectory()
    mail = DemoMail(data_dir=Path(scratch.name), imap_port=free_port(), smtp_port=free_port())
    mail.accounts([SLUG])
    server = subprocess.Popen(process_commands("127.0.0.1", 8000, mail)["mail"], cwd=ROOT)
    if not all(wait_for_port(mail.host, port, 30, [server]) for port in (mail.imap_port, mail.smtp_port)):
        server.kill()
        raise SystemExit("The demo mail server did not start; see the output above.")
    ensure_public_tenant()
    client = Client.objects.filter(slug=SLUG).first() or create_client(name="Mail Bench", slug=SLUG)
    with tenant_context(client):
        Message.objects.filter(ticket__source__name="Bench mailbox").delete()
        Ticket.objects.filter(source__name="Bench mailbox").delete()
        TicketSource.objects.filter(name="Bench mailbox").delete()
        config = mail.source_config(SLUG, client.name)
        source = services.create_source(client=client, kind="email", name="Bench mailbox", config=config)
    try:
        # Floor: SMTP hand-off to the IDLE notification, nothing else.
        floor = []
        with MailboxWatcher(EmailAdapter(source_id="floor", config=config)) as watcher:
            for n in range(args.mails):
                started = time.perf_counter()
                _send(mail, n)
                while not watcher.wait(30):
                    pass
                floor.append(time.perf_counter() - started)

        def pull(woken_client: Any, source_id: Any) -> None:
            with tenant_context(woken_client):
                polling.poll(source_id)
            connections.close_all()

        stop = threading.Event()
        listener = IdleListener(wake=pull, rescan_seconds=3600)
        threading.Thread(target=listener.run, args=(stop,), daemon=True).start()
        # Warm-up: the listener connects and pulls the floor's mails (the first pull of a process loads more).
        warm_started = time.perf_counter()
        with tenant_context(client):
            while Ticket.objects.filter(source=source).count() < args.mails:
                time.sleep(0.05)
        warm_up = time.perf_counter() - warm_started
        gaby = []
        for n in range(args.mails):
            started = time.perf_counter()
            message_id = _send(mail, 1000 + n)
            with tenant_context(client):
                while not Message.objects.filter(external_id=message_id).exists():
                    time.sleep(0.02)
            gaby.append(time.perf_counter() - started)
        stop.set()
        with tenant_context(client):
            stored = Ticket.objects.filter(source=source).count()
    finally:
        with tenant_context(client):  # the listener of a later ./gaby run must not chase this dead mailbox
            TicketSource.objects.filter(pk=source.pk).update(enabled=False)
        server.terminate()
        server.wait(timeout=15)
        scratch.cleanup()
    print(f"Email to ticket through the demo mail server, {args.mails} mails each; {stored} tickets stored")
    print(_figures("floor: SMTP send -> IDLE EXISTS", floor))
    print(_figures("Gaby: SMTP send -> IDLE -> pull -> ticket in PostgreSQL", gaby))
    print(f"  warm-up: listener start -> the floor's {args.mails} mails stored as tickets: {warm_up:.2f} s")


if __name__ == "__main__":
    main()
